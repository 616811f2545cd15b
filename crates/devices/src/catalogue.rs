//! The simulated fleet's model catalogue: each model of `witness_protocol::catalogue`
//! (ids, names, fuels, shared with the backend) with real-world consumption ranges and the
//! OBD-II trouble codes it tends to raise.

use witness_protocol::{FaultCode, ModelId};

use witness_protocol::catalogue::DEFAULT_MODELS;
pub use witness_protocol::catalogue::Fuel;

/// How often a model raises one trouble code.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FaultRate {
    /// The SAE J2012 code, such as `P0420`.
    pub code: &'static str,
    /// What it means.
    pub meaning: &'static str,
    /// Expected occurrences per 10,000 km driven.
    pub per_10k_km: f64,
}

impl FaultRate {
    /// The code in its 16-bit wire form.
    pub fn fault_code(&self) -> FaultCode {
        // Every catalogue code is checked by a unit test, so parsing cannot fail; the
        // fallback keeps the library free of panics anyway.
        FaultCode::parse(self.code).unwrap_or(FaultCode(0))
    }
}

/// A catalogue entry.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelSpec {
    /// Id, as registered with the backend.
    pub id: ModelId,
    /// Display name (identical to the backend's catalogue).
    pub name: &'static str,
    /// Fuel.
    pub fuel: Fuel,
    /// Real-world consumption range in litres per 100 km (best case, worst case).
    pub consumption_l_per_100km: (f64, f64),
    /// The trouble codes the model raises and how often.
    pub faults: &'static [FaultRate],
}

const fn rate(code: &'static str, meaning: &'static str, per_10k_km: f64) -> FaultRate {
    FaultRate {
        code,
        meaning,
        per_10k_km,
    }
}

const GOLF: &[FaultRate] = &[
    rate("P0300", "random/multiple cylinder misfire", 0.25),
    rate("P0171", "system too lean (bank 1)", 0.30),
    rate("P0420", "catalyst efficiency below threshold", 0.15),
    rate("P0455", "EVAP system large leak", 0.20),
    rate(
        "P0128",
        "coolant below thermostat regulating temperature",
        0.25,
    ),
];

const COROLLA: &[FaultRate] = &[
    rate("P0A80", "replace hybrid battery pack", 0.04),
    rate("P3000", "hybrid battery control malfunction", 0.05),
    rate("P0138", "O2 sensor high voltage (bank 1 sensor 2)", 0.12),
    rate("P0455", "EVAP system large leak", 0.15),
    rate("P0420", "catalyst efficiency below threshold", 0.08),
];

const OCTAVIA: &[FaultRate] = &[
    rate(
        "P2002",
        "diesel particulate filter efficiency below threshold",
        0.50,
    ),
    rate("P0401", "EGR flow insufficient", 0.35),
    rate("P0299", "turbocharger underboost", 0.25),
    rate("P20EE", "SCR NOx catalyst efficiency below threshold", 0.25),
    rate("P0087", "fuel rail pressure too low", 0.08),
];

const CLIO: &[FaultRate] = &[
    rate("P0301", "cylinder 1 misfire", 0.25),
    rate("P0016", "crankshaft/camshaft position correlation", 0.15),
    rate("P0171", "system too lean (bank 1)", 0.25),
    rate("P0340", "camshaft position sensor circuit", 0.12),
];

const TRANSIT: &[FaultRate] = &[
    rate("P2463", "diesel particulate filter soot accumulation", 0.70),
    rate("P20EE", "SCR NOx catalyst efficiency below threshold", 0.35),
    rate("P0401", "EGR flow insufficient", 0.35),
    rate("P0299", "turbocharger underboost", 0.25),
    rate("C0035", "left front wheel speed sensor circuit", 0.15),
    rate("U0100", "lost communication with ECM/PCM", 0.04),
];

const PEUGEOT_308: &[FaultRate] = &[
    rate(
        "P2002",
        "diesel particulate filter efficiency below threshold",
        0.45,
    ),
    rate("P20E8", "reductant pressure too low", 0.25),
    rate("P0401", "EGR flow insufficient", 0.30),
    rate("P0380", "glow plug circuit", 0.15),
    rate("U0121", "lost communication with ABS control module", 0.04),
];

/// The simulation data of `DEFAULT_MODELS[index]`.
const fn spec(
    index: usize,
    consumption_l_per_100km: (f64, f64),
    faults: &'static [FaultRate],
) -> ModelSpec {
    let model = DEFAULT_MODELS[index];
    ModelSpec {
        id: model.id,
        name: model.name,
        fuel: model.fuel,
        consumption_l_per_100km,
        faults,
    }
}

/// One entry per model of the shared catalogue, in its order (the length makes a new model
/// there a compile error here until it has its simulation data).
static CATALOGUE: [ModelSpec; DEFAULT_MODELS.len()] = [
    spec(0, (5.2, 7.8), GOLF),
    spec(1, (3.9, 5.8), COROLLA),
    spec(2, (4.3, 6.6), OCTAVIA),
    spec(3, (5.0, 7.3), CLIO),
    spec(4, (7.5, 11.5), TRANSIT),
    spec(5, (4.2, 6.3), PEUGEOT_308),
];

/// Every model, ordered by id.
pub fn catalogue() -> &'static [ModelSpec] {
    &CATALOGUE
}

/// The model with `id`.
pub fn model(id: ModelId) -> Option<&'static ModelSpec> {
    CATALOGUE.iter().find(|m| m.id == id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_parses_and_prints_back() {
        for spec in catalogue() {
            assert!(spec.consumption_l_per_100km.0 < spec.consumption_l_per_100km.1);
            for fault in spec.faults {
                let code = FaultCode::parse(fault.code).unwrap();
                assert_eq!(code.to_string(), fault.code);
                assert!(fault.per_10k_km > 0.0 && fault.per_10k_km < 2.0);
            }
        }
    }
}
