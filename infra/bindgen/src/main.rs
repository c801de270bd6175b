//! `page-bindgen <input.wasm> <out-dir> <out-name>`: writes the JS glue and the processed wasm
//! of the page's browser half, as `wasm-bindgen --target web --no-typescript` does.
//!
//! It is the library the `wasm-bindgen` CLI wraps (`wasm-bindgen-cli-support`, pinned to
//! the same version as the `wasm-bindgen` crate), built as a member of this workspace.
//! Installing the CLI compiled its web server, HTTP client and TLS for its test runner
//! as well: about four minutes of a first build on 2 cores (docs/benchmarks.md, first
//! run). This shares the workspace's build and compiles only what bindgen needs.

use std::path::PathBuf;
use std::process::ExitCode;

use wasm_bindgen_cli_support::Bindgen;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [input, out_dir, out_name] = args.as_slice() else {
        eprintln!("usage: page-bindgen <input.wasm> <out-dir> <out-name>");
        return ExitCode::from(2);
    };
    match generate(input.into(), out_dir.into(), out_name) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("page-bindgen: {error:#}");
            ExitCode::FAILURE
        }
    }
}

/// What the CLI does for `--target web --no-typescript --out-name <out_name>`: the
/// library's defaults, but for the module path, which the CLI writes into the JS, and
/// externref, which the CLI sets (the library would read it from the environment).
#[allow(deprecated)] // `reference_types`: as the CLI calls it
fn generate(input: PathBuf, out_dir: PathBuf, out_name: &str) -> anyhow::Result<()> {
    Bindgen::new()
        .reference_types(false)
        .web(true)?
        .input_path(input)
        .typescript(false)
        .omit_default_module_path(false)
        .out_name(out_name)
        .generate(out_dir)
}
