//! Driving profiles and the vehicle simulation: trips planned day by day from a deterministic
//! stream, each trip ending (engine off) with one reading.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use witness_protocol::{FaultCode, MAX_FAULTS_PER_READING, ModelId, Reading};

use crate::catalogue::ModelSpec;
use crate::clock::{DAY, day_of, weekday};
use crate::error::{Error, Result};
use crate::random::Dice;

/// How a car is driven.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Profile {
    /// Home to work and back on weekdays, errands at weekends: about 12-18k km a year.
    Commuter,
    /// Six shifts a week of short fares: about 50-80k km a year.
    Taxi,
    /// Outings at weekends, little else: about 4-8k km a year.
    Weekend,
    /// A delivery round of many short legs on weekdays: about 30-45k km a year.
    DeliveryVan,
}

impl Profile {
    /// Every profile.
    pub const ALL: [Self; 4] = [Self::Commuter, Self::Taxi, Self::Weekend, Self::DeliveryVan];

    /// Name used in files, JSON and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Commuter => "commuter",
            Self::Taxi => "taxi",
            Self::Weekend => "weekend",
            Self::DeliveryVan => "delivery_van",
        }
    }

    /// Plausible distance per year, km (low, high).
    pub fn km_per_year(self) -> (f64, f64) {
        match self {
            Self::Commuter => (12_000.0, 18_000.0),
            Self::Taxi => (50_000.0, 80_000.0),
            Self::Weekend => (4_000.0, 8_000.0),
            Self::DeliveryVan => (30_000.0, 45_000.0),
        }
    }

    /// Models a car of this profile is drawn from.
    pub(crate) fn models(self) -> &'static [u32] {
        match self {
            Self::Commuter => &[1, 2, 3, 4, 6],
            Self::Taxi => &[2, 3, 6],
            Self::Weekend => &[1, 2, 4, 6],
            Self::DeliveryVan => &[5],
        }
    }

    fn speed_kmh(self) -> f64 {
        match self {
            Self::Commuter => 45.0,
            Self::Taxi => 28.0,
            Self::Weekend => 65.0,
            Self::DeliveryVan => 33.0,
        }
    }

    /// Multiplier on the car's base consumption: city driving costs more than motorway.
    fn consumption_factor(self) -> f64 {
        match self {
            Self::Commuter => 1.0,
            Self::Taxi => 1.12,
            Self::Weekend => 0.92,
            Self::DeliveryVan => 1.08,
        }
    }
}

impl fmt::Display for Profile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Profile {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().replace('-', "_").as_str() {
            "commuter" => Ok(Self::Commuter),
            "taxi" => Ok(Self::Taxi),
            "weekend" | "weekend_driver" => Ok(Self::Weekend),
            "delivery_van" | "van" | "delivery" => Ok(Self::DeliveryVan),
            other => Err(Error::invalid(
                "profile",
                format!("{other:?} (expected commuter, taxi, weekend or delivery_van)"),
            )),
        }
    }
}

/// The fixed traits of one car and its driver, drawn once at creation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VehicleParams {
    /// Base consumption, L/100 km, inside the model's range.
    pub consumption_l_per_100km: f64,
    /// Commuter: one-way distance; taxi: mean fare; weekend: mean outing leg; van: mean leg.
    pub trip_km: f64,
    /// Hour of day of the first departure (commute, shift, round).
    pub start_hour: f64,
    /// Commuter: hours at work; taxi: shift length.
    pub shift_hours: f64,
    /// Commuter: chance of a weekend errand; weekend: chance of an outing per weekend day;
    /// taxi: mean minutes between fares; van: mean stops per round.
    pub activity: f64,
    /// Taxi: the weekday off (0 = Monday).
    pub day_off: u64,
    /// Chance per day that the device loses connectivity for a while.
    pub offline_per_day: f64,
}

impl VehicleParams {
    pub(crate) fn draw(profile: Profile, model: &ModelSpec, dice: &mut Dice) -> Self {
        let (lo, hi) = model.consumption_l_per_100km;
        let consumption_l_per_100km = lo + (hi - lo) * dice.range(0.3, 0.6);
        let (trip_km, start_hour, shift_hours, activity) = match profile {
            Profile::Commuter => (
                dice.range(25.0, 32.0),
                dice.range(6.5, 8.5),
                dice.range(8.0, 9.5),
                dice.range(0.45, 0.65),
            ),
            Profile::Taxi => (
                dice.range(11.0, 13.0),
                dice.range(6.0, 8.5),
                dice.range(10.0, 11.0),
                dice.range(7.0, 10.0),
            ),
            Profile::Weekend => (
                dice.range(42.0, 55.0),
                dice.range(9.0, 11.0),
                0.0,
                dice.range(0.5, 0.6),
            ),
            Profile::DeliveryVan => (
                dice.range(5.8, 6.8),
                dice.range(6.5, 8.0),
                0.0,
                dice.range(17.0, 20.0),
            ),
        };
        Self {
            consumption_l_per_100km,
            trip_km,
            start_hour,
            shift_hours,
            activity,
            day_off: dice.int(0, 6),
            offline_per_day: dice.range(0.05, 0.15),
        }
    }

    /// A plausible odometer for a car of this profile that is a few years old, metres.
    pub(crate) fn initial_odometer_m(profile: Profile, dice: &mut Dice) -> u64 {
        let (lo, hi) = profile.km_per_year();
        let years = dice.range(0.3, 8.0);
        (years * (lo + hi) / 2.0 * 1000.0) as u64
    }
}

/// Everything that shapes a car's trips.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SimContext<'a> {
    pub(crate) profile: Profile,
    pub(crate) params: &'a VehicleParams,
    pub(crate) model: &'a ModelSpec,
    /// Seed of the trip stream (per vehicle; a clone has its own).
    pub(crate) seed: &'a [u8; 32],
}

/// One drive, engine on to engine off.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Trip {
    pub(crate) start: u64,
    pub(crate) end: u64,
    pub(crate) distance_m: u64,
    pub(crate) fuel_ml: u32,
    /// Codes raised on this trip, each with the distance until it is repaired.
    pub(crate) new_faults: Vec<(FaultCode, u64)>,
}

struct Planner<'a> {
    ctx: SimContext<'a>,
    dice: Dice,
    day_start: u64,
    trips: Vec<Trip>,
}

impl Planner<'_> {
    /// Adds a trip of about `km` at about `speed` km/h leaving `hour` hours after midnight;
    /// returns when it ends.
    fn drive(&mut self, at: u64, km: f64, speed: f64) -> u64 {
        let km = km.max(0.5);
        let speed = self.dice.jitter(speed, 0.12).max(8.0);
        let duration = ((km / speed) * 3600.0).max(60.0) as u64;
        let start = at.max(self.trips.last().map_or(0, |t| t.end + 60));
        let end = start + duration;
        if end >= self.day_start + DAY {
            return end;
        }
        let (lo, hi) = self.ctx.model.consumption_l_per_100km;
        let mut l100 = self.ctx.params.consumption_l_per_100km
            * self.ctx.profile.consumption_factor()
            * self.dice.jitter(1.0, 0.05);
        if km < 5.0 {
            // Cold start.
            l100 *= 1.12;
        }
        let l100 = l100.clamp(lo, hi);
        let fuel_ml = (km * l100 * 10.0).round() as u32;
        let mut new_faults = Vec::new();
        for rate in self.ctx.model.faults {
            if self.dice.chance(rate.per_10k_km * km / 10_000.0) {
                let repair_m = (self.dice.range(200.0, 2_500.0) * 1000.0) as u64;
                new_faults.push((rate.fault_code(), repair_m));
            }
        }
        self.trips.push(Trip {
            start,
            end,
            distance_m: (km * 1000.0).round() as u64,
            fuel_ml,
            new_faults,
        });
        end
    }
}

fn at_hour(day_start: u64, hour: f64) -> u64 {
    day_start + (hour.clamp(0.0, 23.9) * 3600.0) as u64
}

/// The trips of day `day` (days since the epoch), in order. A pure function of the context
/// and the day: the simulation resumes identically after a restart.
pub(crate) fn plan_day(ctx: SimContext<'_>, day: u64) -> Vec<Trip> {
    let day_start = day * DAY;
    let mut p = Planner {
        ctx,
        dice: Dice::for_stream(ctx.seed, "day", day),
        day_start,
        trips: Vec::new(),
    };
    let params = ctx.params;
    let wd = weekday(day);
    let speed = ctx.profile.speed_kmh();
    match ctx.profile {
        Profile::Commuter => {
            if wd < 5 {
                if !p.dice.chance(0.08) {
                    let out = at_hour(day_start, p.dice.jitter(params.start_hour, 0.03));
                    let km = p.dice.jitter(params.trip_km, 0.08);
                    let arrived = p.drive(out, km, speed);
                    let back = arrived + (p.dice.jitter(params.shift_hours, 0.06) * 3600.0) as u64;
                    let km = p.dice.jitter(params.trip_km, 0.08);
                    p.drive(back, km, speed);
                }
            } else if p.dice.chance(params.activity) {
                let legs = p.dice.int(1, 2);
                let mut t = at_hour(day_start, p.dice.range(9.5, 16.0));
                for _ in 0..legs {
                    let km = p.dice.range(5.0, 25.0);
                    t = p.drive(t, km, speed * 0.8) + (p.dice.range(0.5, 3.0) * 3600.0) as u64;
                }
            }
        }
        Profile::Taxi => {
            if wd != params.day_off && !p.dice.chance(0.04) {
                let mut t = at_hour(day_start, p.dice.jitter(params.start_hour, 0.04));
                let shift_end = t + (p.dice.jitter(params.shift_hours, 0.05) * 3600.0) as u64;
                while t < shift_end {
                    t += (p.dice.range(0.5, 1.5) * params.activity * 60.0) as u64;
                    let km = p.dice.jitter(params.trip_km, 0.4).max(1.5);
                    t = p.drive(t, km, speed);
                }
            }
        }
        Profile::Weekend => {
            if wd >= 5 {
                if p.dice.chance(params.activity) {
                    let out = at_hour(day_start, p.dice.jitter(params.start_hour, 0.08));
                    let km = p.dice.jitter(params.trip_km, 0.3).max(5.0);
                    let arrived = p.drive(out, km, speed);
                    let back = arrived + (p.dice.range(2.0, 6.0) * 3600.0) as u64;
                    let km = km * p.dice.range(0.9, 1.1);
                    p.drive(back, km, speed);
                }
            } else if p.dice.chance(0.08) {
                let out = at_hour(day_start, p.dice.range(17.0, 19.0));
                let km = p.dice.range(3.0, 12.0);
                let arrived = p.drive(out, km, speed * 0.6);
                p.drive(arrived + 3600, km, speed * 0.6);
            }
        }
        Profile::DeliveryVan => {
            let works = match wd {
                0..=4 => !p.dice.chance(0.04),
                5 => p.dice.chance(0.25),
                _ => false,
            };
            if works {
                let mut t = at_hour(day_start, p.dice.jitter(params.start_hour, 0.03));
                let km = p.dice.jitter(14.0, 0.25);
                t = p.drive(t, km, speed * 1.3);
                let stops = p.dice.jitter(params.activity, 0.12).round().max(1.0) as u32;
                for _ in 0..stops {
                    t += (p.dice.range(4.0, 12.0) * 60.0) as u64;
                    let km = p.dice.jitter(params.trip_km, 0.4).max(0.8);
                    t = p.drive(t, km, speed);
                }
                let km = p.dice.jitter(14.0, 0.25);
                p.drive(t + 300, km, speed * 1.3);
            }
        }
    }
    p.trips
}

/// Whether the device is out of coverage at `t`: each day, with the car's probability, one
/// window of 30 minutes to 30 hours.
pub(crate) fn offline_at(seed: &[u8; 32], chance_per_day: f64, t: u64) -> bool {
    let today = day_of(t);
    (today.saturating_sub(2)..=today).any(|day| {
        let mut dice = Dice::for_stream(seed, "coverage", day);
        if !dice.chance(chance_per_day) {
            return false;
        }
        let start = day * DAY + dice.int(0, DAY - 1);
        let end = start + (dice.range(0.5, 30.0) * 3600.0) as u64;
        (start..end).contains(&t)
    })
}

/// A fault code the car shows until it is repaired.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct ActiveFault {
    #[serde(with = "crate::json::fault")]
    pub(crate) code: FaultCode,
    /// Distance left until the repair, metres.
    pub(crate) remaining_m: u64,
}

/// The car's instruments and where the simulation stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct VehicleState {
    pub(crate) odometer_m: u64,
    pub(crate) engine_s: u32,
    pub(crate) faults: Vec<ActiveFault>,
    /// Day being driven and the index of its next trip.
    pub(crate) day: u64,
    pub(crate) next_trip: u32,
    /// Trips starting before this time are skipped (the device was not yet installed).
    pub(crate) not_before: u64,
    /// Time of the last reading produced.
    pub(crate) last_timestamp: u32,
}

impl VehicleState {
    pub(crate) fn new(odometer_m: u64, speed_kmh: f64, start: u64) -> Self {
        let engine_s = (odometer_m as f64 / 1000.0 / speed_kmh * 3600.0) as u32;
        Self {
            odometer_m,
            engine_s,
            faults: Vec::new(),
            day: day_of(start),
            next_trip: 0,
            not_before: start,
            last_timestamp: u32::try_from(start).unwrap_or(u32::MAX),
        }
    }

    pub(crate) fn for_profile(profile: Profile, odometer_m: u64, start: u64) -> Self {
        Self::new(odometer_m, profile.speed_kmh(), start)
    }

    /// The next reading whose trip ends by `now`, if any.
    pub(crate) fn next_reading(&mut self, ctx: SimContext<'_>, now: u64) -> Option<Reading> {
        loop {
            if self.day * DAY > now {
                return None;
            }
            let trips = plan_day(ctx, self.day);
            let mut index = self.next_trip as usize;
            while let Some(trip) = trips.get(index) {
                if trip.start < self.not_before {
                    index += 1;
                    continue;
                }
                if trip.end > now {
                    self.next_trip = index as u32;
                    return None;
                }
                self.next_trip = index as u32 + 1;
                return Some(self.apply(trip));
            }
            self.day += 1;
            self.next_trip = 0;
        }
    }

    fn apply(&mut self, trip: &Trip) -> Reading {
        self.odometer_m = self.odometer_m.saturating_add(trip.distance_m);
        let duration = u32::try_from(trip.end - trip.start).unwrap_or(u32::MAX);
        self.engine_s = self.engine_s.saturating_add(duration);
        self.faults.retain_mut(|f| {
            f.remaining_m = f.remaining_m.saturating_sub(trip.distance_m);
            f.remaining_m > 0
        });
        for (code, remaining_m) in &trip.new_faults {
            if self.faults.len() < MAX_FAULTS_PER_READING
                && !self.faults.iter().any(|f| f.code == *code)
            {
                self.faults.push(ActiveFault {
                    code: *code,
                    remaining_m: *remaining_m,
                });
            }
        }
        let timestamp = u32::try_from(trip.end).unwrap_or(u32::MAX);
        self.last_timestamp = timestamp;
        Reading {
            timestamp,
            odometer_m: self.odometer_m,
            fuel_ml: trip.fuel_ml,
            engine_s: self.engine_s,
            faults: self.faults.iter().map(|f| f.code).collect(),
        }
    }

    /// What the instruments show at `now` (parked since the last trip).
    pub(crate) fn current_reading(&self, now: u64) -> Reading {
        let now = u32::try_from(now).unwrap_or(u32::MAX);
        Reading {
            timestamp: now.max(self.last_timestamp),
            odometer_m: self.odometer_m,
            fuel_ml: 0,
            engine_s: self.engine_s,
            faults: self.faults.iter().map(|f| f.code).collect(),
        }
    }
}

/// The model id a profile draws.
pub(crate) fn draw_model(profile: Profile, dice: &mut Dice) -> ModelId {
    ModelId(dice.pick(profile.models()).unwrap_or(1))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalogue::model;

    #[test]
    fn plans_are_deterministic_and_ordered() {
        let spec = model(ModelId(3)).unwrap();
        let mut dice = Dice::new([7; 32]);
        let params = VehicleParams::draw(Profile::Taxi, spec, &mut dice);
        let ctx = SimContext {
            profile: Profile::Taxi,
            params: &params,
            model: spec,
            seed: &[9; 32],
        };
        for day in 19_000..19_030 {
            let a = plan_day(ctx, day);
            assert_eq!(a, plan_day(ctx, day));
            for pair in a.windows(2) {
                assert!(pair[0].end < pair[1].start);
            }
            for trip in &a {
                assert!(trip.start >= day * DAY && trip.end < (day + 1) * DAY);
            }
        }
    }
}
