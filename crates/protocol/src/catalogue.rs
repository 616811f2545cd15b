//! The default model catalogue: the ids a registrar assigns and what the backend's statistics
//! and the simulated fleet know of each model. One definition for both (the backend's
//! `default_models()` and the fleet's `catalogue()` are built from [`DEFAULT_MODELS`]).

use crate::keys::ModelId;

/// Fuel of a model, for consumption and CO2 figures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "api", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "api", serde(rename_all = "lowercase"))]
pub enum Fuel {
    /// Petrol (hybrids included): 2,392 g CO2 per litre burnt.
    Petrol,
    /// Diesel: 2,640 g CO2 per litre burnt.
    Diesel,
}

impl Fuel {
    /// The serialized name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Petrol => "petrol",
            Self::Diesel => "diesel",
        }
    }

    /// Tank-to-wheel emission factor in grams of CO2 per litre (EU JRC / EEA figures used
    /// for WLTP CO2 accounting).
    pub fn co2_g_per_l(self) -> f64 {
        match self {
            Self::Petrol => 2_392.0,
            Self::Diesel => 2_640.0,
        }
    }
}

/// A model of the catalogue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Model {
    /// Its id, as registered.
    pub id: ModelId,
    /// Display name.
    pub name: &'static str,
    /// Fuel.
    pub fuel: Fuel,
}

const fn model(id: u32, name: &'static str, fuel: Fuel) -> Model {
    Model {
        id: ModelId(id),
        name,
        fuel,
    }
}

/// The catalogue of the demo deployment and the simulated fleet, by id.
pub const DEFAULT_MODELS: [Model; 6] = [
    model(1, "Volkswagen Golf 1.5 TSI", Fuel::Petrol),
    model(2, "Toyota Corolla 1.8 Hybrid", Fuel::Petrol),
    model(3, "Skoda Octavia 2.0 TDI", Fuel::Diesel),
    model(4, "Renault Clio 1.0 TCe", Fuel::Petrol),
    model(5, "Ford Transit 2.0 EcoBlue", Fuel::Diesel),
    model(6, "Peugeot 308 1.5 BlueHDi", Fuel::Diesel),
];
