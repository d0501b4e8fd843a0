// mimalloc: the system allocator makes candle spend ~40% of its time in the kernel
// zeroing freshly mapped attention buffers (see docs/local-model.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    std::process::exit(vecsync::cli::main());
}
