//! Shared build script of every crate that links libtorch: records libtorch's library folder as
//! an rpath, so binaries and tests run without LD_LIBRARY_PATH. With the `cuda` feature it also
//! forces libtorch_cuda in (the linker's --as-needed would drop it otherwise).
fn main() {
    println!("cargo:rerun-if-env-changed=DEP_TCH_LIBTORCH_LIB");
    if let Ok(lib) = std::env::var("DEP_TCH_LIBTORCH_LIB") {
        println!("cargo:rustc-link-arg=-Wl,-rpath,{lib}");
        if std::env::var_os("CARGO_FEATURE_CUDA").is_some() {
            println!("cargo:rustc-link-arg=-Wl,--no-as-needed,-ltorch_cuda,--as-needed");
        }
    }
}
