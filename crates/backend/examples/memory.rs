//! Measures the backend's live heap per device and per reading (dhat's counting allocator).
//! Run: `cargo run --release -p witness-backend --example memory`.

use witness_backend::fixture::FleetFixture;

#[global_allocator]
static ALLOCATOR: dhat::Alloc = dhat::Alloc;

fn live_bytes() -> usize {
    dhat::HeapStats::get().curr_bytes
}

fn main() {
    let _profiler = dhat::Profiler::builder().testing().build();
    let devices = 2_000;
    let baseline = live_bytes();
    let mut fixture = FleetFixture::new(devices);
    let after_registration = live_bytes();
    let mut readings = 0;
    while readings < 100_000 {
        let (meta, input, count) = fixture.next_input(16);
        let outcome = fixture.state.advance(&meta, &input);
        assert!(outcome.accept, "fixture inputs are valid");
        readings += count;
    }
    let after_readings = live_bytes();
    let per_device = after_registration.saturating_sub(baseline) as f64 / devices as f64;
    let per_reading = after_readings.saturating_sub(after_registration) as f64 / readings as f64;
    println!("devices: {devices}, readings: {readings}");
    println!(
        "memory per registered device: {per_device:.0} bytes (includes the fixture's own keys)"
    );
    println!(
        "memory per attested reading:  {per_reading:.0} bytes (reading, commitment, envelope hash, history entry)"
    );
}
