use std::process::ExitCode;

// jemalloc for every allocation, libtorch's included (its malloc/free are exported unprefixed and
// interpose glibc's): glibc's arenas kept freed activations, jemalloc returns them (the second-order
// search step's peak falls by about 40 %, docs/benchmarks.md).
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() -> ExitCode {
    match aca_cli::run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {}", aca_cli::error_text(&err));
            ExitCode::FAILURE
        }
    }
}
