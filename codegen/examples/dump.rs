fn main() {
    let spec = std::env::args().nth(1).unwrap();
    print!("{}", copper_bulk_codegen::generate(std::path::Path::new(&spec), "").unwrap());
}
