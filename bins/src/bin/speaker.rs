//! `speaker`: MetalLB's speaker (announces Service addresses by Layer 2 and BGP), with
//! upstream's flags and environment variables; standalone mode reads a manifest folder.

fn main() -> std::process::ExitCode {
    lb_bins::speaker::cli::main_with_args(std::env::args_os().collect())
}
