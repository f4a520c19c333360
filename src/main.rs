//! The `itdesk` binary: everything lives in the library; see `itdesk::cli`.

fn main() -> std::process::ExitCode {
    itdesk::cli::main()
}
