const COMMANDS: [&[&str]; 21] = [
    &[],
    &["run"],
    &["search"],
    &["allocate"],
    &["train"],
    &["test"],
    &["predict"],
    &["export"],
    &["report"],
    &["inspect"],
    &["genotype", "show"],
    &["genotype", "derive"],
    &["data", "info"],
    &["data", "fetch"],
    &["genotype"],
    &["sweep"],
    &["sweep", "plan"],
    &["sweep", "run"],
    &["sweep", "status"],
    &["sweep", "collect"],
    &["sweep", "compare"],
];

fn help(args: &[&str]) -> String {
    let mut all: Vec<&str> = args.to_vec();
    all.push("--help");
    let out = crate::aca_command()
        .args(&all)
        .output()
        .expect("running aca");
    assert!(out.status.success());
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// docs/cli.md is the binary's own help; `ACA_UPDATE_DOCS=1 cargo test -p aca-cli docs` rewrites it.
#[test]
fn cli_reference_matches_the_binary() {
    let mut md = String::from(
        "# Command-line reference\n\nGenerated from `aca --help` by `ACA_UPDATE_DOCS=1 cargo test -p aca-cli docs`; a test fails when it\ndrifts from the binary.\n",
    );
    for args in COMMANDS {
        let name = if args.is_empty() {
            "aca".to_string()
        } else {
            format!("aca {}", args.join(" "))
        };
        md.push_str(&format!("\n## `{name}`\n\n```text\n{}```\n", help(args)));
    }
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/cli.md");
    if std::env::var_os("ACA_UPDATE_DOCS").is_some() {
        std::fs::write(&path, &md).unwrap();
    }
    let current = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        current == md,
        "docs/cli.md is out of date: run ACA_UPDATE_DOCS=1 cargo test -p aca-cli docs"
    );
}
