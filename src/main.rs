// mimalloc was chosen for candle (which spent ~40% of its time zeroing freshly mapped
// buffers with the system allocator). onnxruntime reuses its own arena: with the system
// allocator, job postings embed at the same speed (benches/local_model.rs, 24.3 texts/s
// both ways); kept because short texts measured within noise, not worse.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    std::process::exit(vecsync::cli::main());
}
