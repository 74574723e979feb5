use std::process::ExitCode;

fn main() -> ExitCode {
    match aca_cli::run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            // One line: libtorch's messages carry pages of C++ frames after their first line.
            let text = format!("{err:#}");
            let first = text.lines().next().unwrap_or("");
            let first = first
                .split(" (Exception raised from")
                .next()
                .unwrap_or(first);
            eprintln!("error: {}", first.trim_end());
            ExitCode::FAILURE
        }
    }
}
