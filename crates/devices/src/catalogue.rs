//! The model catalogue: the same ids and names as the backend's `default_models()`, with
//! real-world consumption ranges and the OBD-II trouble codes each model tends to raise.

use witness_protocol::{FaultCode, ModelId};

/// Fuel of a model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fuel {
    /// Petrol (hybrids included).
    Petrol,
    /// Diesel.
    Diesel,
}

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

static CATALOGUE: [ModelSpec; 6] = [
    ModelSpec {
        id: ModelId(1),
        name: "Volkswagen Golf 1.5 TSI",
        fuel: Fuel::Petrol,
        consumption_l_per_100km: (5.2, 7.8),
        faults: GOLF,
    },
    ModelSpec {
        id: ModelId(2),
        name: "Toyota Corolla 1.8 Hybrid",
        fuel: Fuel::Petrol,
        consumption_l_per_100km: (3.9, 5.8),
        faults: COROLLA,
    },
    ModelSpec {
        id: ModelId(3),
        name: "Skoda Octavia 2.0 TDI",
        fuel: Fuel::Diesel,
        consumption_l_per_100km: (4.3, 6.6),
        faults: OCTAVIA,
    },
    ModelSpec {
        id: ModelId(4),
        name: "Renault Clio 1.0 TCe",
        fuel: Fuel::Petrol,
        consumption_l_per_100km: (5.0, 7.3),
        faults: CLIO,
    },
    ModelSpec {
        id: ModelId(5),
        name: "Ford Transit 2.0 EcoBlue",
        fuel: Fuel::Diesel,
        consumption_l_per_100km: (7.5, 11.5),
        faults: TRANSIT,
    },
    ModelSpec {
        id: ModelId(6),
        name: "Peugeot 308 1.5 BlueHDi",
        fuel: Fuel::Diesel,
        consumption_l_per_100km: (4.2, 6.3),
        faults: PEUGEOT_308,
    },
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

    #[test]
    fn ids_and_names_match_the_backend_catalogue() {
        // The backend's `default_models()` is the source of truth; reading its source keeps
        // this crate free of a dependency on the backend.
        let backend = include_str!("../../backend/src/config.rs");
        for spec in catalogue() {
            let fuel = match spec.fuel {
                Fuel::Petrol => "Petrol",
                Fuel::Diesel => "Diesel",
            };
            let entry = format!("({}, \"{}\", Fuel::{fuel})", spec.id.0, spec.name);
            assert!(backend.contains(&entry), "backend catalogue lacks {entry}");
        }
    }
}
