//! Anonymized fleet statistics per model, updated incrementally with each attested reading
//! and published only for groups of at least k devices.

use std::collections::BTreeMap;

use witness_protocol::{FaultCode, ModelId, Reading};

use crate::config::ModelInfo;

const SECONDS_PER_YEAR: f64 = 31_557_600.0;
/// Upper bounds (km/year) of the distribution's buckets; the last bucket is open.
pub const KM_PER_YEAR_BUCKETS: [u32; 6] = [5_000, 10_000, 15_000, 20_000, 30_000, 50_000];
/// A device needs this much history (seconds) to count in the km/year distribution.
const MIN_SPAN_FOR_RATE_S: u32 = 86_400;

/// One device's running figures, kept with the device (crate::state::Device).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeviceSummary {
    /// Time of the first attested reading; 0 until there is one (no accepted reading can be
    /// dated 0: it would be more than the buffering window older than any block). Two plain
    /// fields instead of an `Option<(u32, u64)>` save 16 bytes per device.
    first_time: u32,
    first_odometer_m: u64,
    last_time: u32,
    last_odometer_m: u64,
    /// Boxed slice: no allocation while no fault is active, 16 bytes per device.
    last_faults: Box<[FaultCode]>,
}

impl DeviceSummary {
    /// km/year over the device's attested span, once it covers at least a day.
    fn km_per_year(&self) -> Option<f64> {
        let (first_time, first_odometer) = (self.first_time, self.first_odometer_m);
        if first_time == 0 {
            return None;
        }
        let span = self.last_time.checked_sub(first_time)?;
        (span >= MIN_SPAN_FOR_RATE_S).then(|| {
            let km = self.last_odometer_m.saturating_sub(first_odometer) as f64 / 1000.0;
            km * SECONDS_PER_YEAR / f64::from(span)
        })
    }
}

/// Running totals of one model.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ModelStats {
    devices: usize,
    distance_m: u64,
    /// Fuel used over `distance_m` (the first reading of a device has no distance to it).
    fuel_ml: u64,
    fault_occurrences: u64,
    readings: u64,
}

impl ModelStats {
    /// Counts a newly registered device.
    pub fn register(&mut self) {
        self.devices += 1;
    }

    /// Adds an attested (non-rollback) reading of the device whose summary is `summary`.
    pub fn record(&mut self, summary: &mut DeviceSummary, reading: &Reading) {
        self.readings = self.readings.saturating_add(1);
        match summary.first_time {
            0 => {
                summary.first_time = reading.timestamp;
                summary.first_odometer_m = reading.odometer_m;
            }
            _ => {
                self.distance_m = self
                    .distance_m
                    .saturating_add(reading.odometer_m.saturating_sub(summary.last_odometer_m));
                self.fuel_ml = self.fuel_ml.saturating_add(u64::from(reading.fuel_ml));
            }
        }
        // A fault counts once when it appears, not in every reading while it stays active.
        let new_faults = reading
            .faults
            .iter()
            .filter(|f| !summary.last_faults.contains(f))
            .count();
        self.fault_occurrences = self.fault_occurrences.saturating_add(new_faults as u64);
        summary.last_time = reading.timestamp;
        summary.last_odometer_m = reading.odometer_m;
        if *summary.last_faults != *reading.faults {
            summary.last_faults = reading.faults.clone().into_boxed_slice();
        }
    }
}

pub use witness_protocol::api::GroupStats;

fn group(
    model: Option<u32>,
    name: String,
    parts: &[(&ModelStats, Option<&ModelInfo>, &[f64])],
    k: usize,
) -> GroupStats {
    let devices: usize = parts.iter().map(|(s, _, _)| s.devices).sum();
    let mut out = GroupStats {
        model,
        name,
        // Every published group has at least k devices; so does each model in the total.
        published: devices >= k.max(1),
        devices: None,
        readings: None,
        total_km: None,
        km_per_year_histogram: None,
        km_per_year_median: None,
        faults_per_10000_km: None,
        consumption_l_per_100km: None,
        co2_g_per_km: None,
    };
    if !out.published {
        return out;
    }
    let distance_m: u64 = parts.iter().map(|(s, _, _)| s.distance_m).sum();
    let fuel_ml: u64 = parts.iter().map(|(s, _, _)| s.fuel_ml).sum();
    let co2_g: f64 = parts
        .iter()
        .map(|(s, info, _)| {
            s.fuel_ml as f64 / 1000.0 * info.map_or(2_392.0, |i| i.fuel.co2_g_per_l())
        })
        .sum();
    let mut rates: Vec<f64> = parts
        .iter()
        .flat_map(|(_, _, r)| r.iter().copied())
        .collect();
    rates.sort_by(f64::total_cmp);
    let mut histogram = vec![0u64; KM_PER_YEAR_BUCKETS.len() + 1];
    for rate in &rates {
        let bucket = KM_PER_YEAR_BUCKETS
            .iter()
            .position(|b| *rate < f64::from(*b))
            .unwrap_or(KM_PER_YEAR_BUCKETS.len());
        if let Some(slot) = histogram.get_mut(bucket) {
            *slot += 1;
        }
    }
    let km = distance_m as f64 / 1000.0;
    out.devices = Some(devices as u64);
    out.readings = Some(parts.iter().map(|(s, _, _)| s.readings).sum());
    out.total_km = Some(round(km, 1));
    out.km_per_year_median = rates.get(rates.len() / 2).map(|r| round(*r, 0));
    out.km_per_year_histogram = Some(histogram);
    if km > 0.0 {
        let faults: u64 = parts.iter().map(|(s, _, _)| s.fault_occurrences).sum();
        out.faults_per_10000_km = Some(round(faults as f64 * 10_000.0 / km, 2));
        out.consumption_l_per_100km = Some(round(fuel_ml as f64 / 1000.0 * 100.0 / km, 2));
        out.co2_g_per_km = Some(round(co2_g / km, 1));
    }
    out
}

fn round(value: f64, digits: i32) -> f64 {
    let scale = 10f64.powi(digits);
    (value * scale).round() / scale
}

/// Statistics per model and for the whole fleet, k-anonymous.
pub fn publish<'d>(
    stats: &BTreeMap<ModelId, ModelStats>,
    devices: impl Iterator<Item = (ModelId, &'d DeviceSummary)>,
    models: &BTreeMap<ModelId, ModelInfo>,
    k: usize,
) -> (Vec<GroupStats>, GroupStats) {
    let mut rates: BTreeMap<ModelId, Vec<f64>> = BTreeMap::new();
    for (model, summary) in devices {
        if let Some(rate) = summary.km_per_year() {
            rates.entry(model).or_default().push(rate);
        }
    }
    let rates_of = |id: &ModelId| rates.get(id).map_or(&[][..], Vec::as_slice);
    let per_model = stats
        .iter()
        .map(|(id, s)| {
            let info = models.get(id);
            let name = info.map_or_else(|| format!("model {}", id.0), |i| i.name.clone());
            group(Some(id.0), name, &[(s, info, rates_of(id))], k)
        })
        .collect();
    // The fleet total covers published models only: including a hidden group would let
    // anyone recover its figures by subtracting the published ones.
    let all: Vec<_> = stats
        .iter()
        .filter(|(_, s)| s.devices >= k.max(1))
        .map(|(id, s)| (s, models.get(id), rates_of(id)))
        .collect();
    (per_model, group(None, "All models".into(), &all, k))
}
