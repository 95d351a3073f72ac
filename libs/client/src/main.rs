//! `twister`: the command-line tool for a Twister controller. It uses only the public REST API.

mod cli;

fn main() {
    std::process::exit(cli::main());
}
