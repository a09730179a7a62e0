fn main() -> std::process::ExitCode {
    huying::cli::main()
}
