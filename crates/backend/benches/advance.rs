//! Backend throughput: readings per second through `State::advance` on full 64 KiB inputs
//! (signature check, HPKE open, commitments, history notices with sealed values, the map's
//! root and kept version, statistics). Sealing the inputs is not timed. Run: `cargo bench
//! -p witness-backend --bench advance`.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use witness_backend::fixture::FleetFixture;

fn advance(c: &mut Criterion) {
    let mut group = c.benchmark_group("advance_full_input");
    group.sample_size(10);
    for per_envelope in [1usize, 16] {
        let mut fixture = FleetFixture::new(1_000);
        let (_, _, readings) = fixture.next_input(per_envelope);
        group.throughput(Throughput::Elements(readings as u64));
        group.bench_function(format!("{per_envelope}_readings_per_envelope"), |b| {
            b.iter_custom(|iterations| {
                let mut total = Duration::ZERO;
                for _ in 0..iterations {
                    let (meta, input, _) = fixture.next_input(per_envelope);
                    let start = Instant::now();
                    black_box(fixture.state.advance(&meta, &input));
                    total += start.elapsed();
                }
                total
            });
        });
    }
    group.finish();
}

criterion_group!(benches, advance);
criterion_main!(benches);
