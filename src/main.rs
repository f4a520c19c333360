//! The `itdesk` binary: everything lives in the library; see `itdesk::cli`.

#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() -> std::process::ExitCode {
    itdesk::cli::main()
}
