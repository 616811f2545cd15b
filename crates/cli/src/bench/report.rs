//! What the benchmarks print and write: progress, statistics, numbers, the gas chart.

use std::fmt::Write as _;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};
use thousands::Separable;

use super::gas::{GAS_TARGET, GasRow};

pub(super) fn bar(len: u64, what: &str) -> ProgressBar {
    let bar = ProgressBar::new(len);
    bar.set_style(
        ProgressStyle::with_template(&format!(
            "{{spinner}} [{{elapsed_precise}}] {what} {{bar:30}} {{pos}}/{{len}} {{msg}}"
        ))
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar.enable_steady_tick(Duration::from_millis(200));
    bar
}

pub(super) fn say(bar: &ProgressBar, text: &str) {
    if bar.is_hidden() {
        println!("{text}");
    } else {
        bar.println(text);
    }
}

/// Nearest-rank percentile of sorted values (always a measured value).
// No crate: 6 lines of this exact definition; hdrhistogram buckets, statrs interpolates.
pub(super) fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

pub(super) fn sorted(mut values: Vec<f64>) -> Vec<f64> {
    values.sort_by(f64::total_cmp);
    values
}

pub(super) fn mean(values: &[f64]) -> f64 {
    values.iter().sum::<f64>() / values.len().max(1) as f64
}

/// Rounded, with thousands separators: `1,190`.
pub(super) fn n(value: f64) -> String {
    (value.round() as i128).separate_with_commas()
}

/// A log-log chart of gas per reading against envelopes per input (docs/bench/gas.svg).
// No crate: plotters would redraw the checked-in chart differently and add a dozen crates.
pub(super) fn gas_svg(rows: &[GasRow], baseline: f64, load: &str) -> String {
    let (width, height) = (840.0, 470.0);
    let (left, right, top, bottom) = (84.0, 600.0, 50.0, 400.0);
    let (x_min, x_max) = (0.0f64, 3.0f64); // log10 envelopes: 1 .. 1000
    let (y_min, y_max) = (2.5f64, 5.3f64); // log10 gas: ~316 .. ~200,000
    let x = |v: f64| left + (v.log10() - x_min) / (x_max - x_min) * (right - left);
    let y = |v: f64| bottom - (v.log10() - y_min) / (y_max - y_min) * (bottom - top);
    let mut svg = String::new();
    let _ = writeln!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="12">"#
    );
    let _ = writeln!(
        svg,
        r##"<rect width="100%" height="100%" fill="#ffffff"/>
<text x="{left}" y="24" font-size="15" font-weight="bold">Gas per attested reading vs envelopes per input (anvil 1.7.1, EIP-7623 floor)</text>
<text x="{left}" y="40" fill="#555">witness bench gas; log-log; load average at the end {load}</text>"##
    );
    // Grid.
    for v in [1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0, 500.0, 1000.0] {
        let major = [1.0, 10.0, 100.0, 1000.0].contains(&v);
        let _ = writeln!(
            svg,
            r##"<line x1="{0:.1}" y1="{top}" x2="{0:.1}" y2="{bottom}" stroke="{1}"/>"##,
            x(v),
            if major { "#bbbbbb" } else { "#eeeeee" }
        );
        if major || [5.0, 50.0, 500.0].contains(&v) {
            let _ = writeln!(
                svg,
                r#"<text x="{:.1}" y="{}" text-anchor="middle">{}</text>"#,
                x(v),
                bottom + 18.0,
                n(v)
            );
        }
    }
    for v in [
        500.0, 1_000.0, 2_000.0, 5_000.0, 10_000.0, 20_000.0, 50_000.0, 100_000.0, 200_000.0,
    ] {
        let major = [1_000.0, 10_000.0, 100_000.0].contains(&v);
        let _ = writeln!(
            svg,
            r##"<line x1="{left}" y1="{0:.1}" x2="{right}" y2="{0:.1}" stroke="{1}"/>
<text x="{2}" y="{3:.1}" text-anchor="end">{4}</text>"##,
            y(v),
            if major { "#bbbbbb" } else { "#eeeeee" },
            left - 6.0,
            y(v) + 4.0,
            n(v)
        );
    }
    let _ = writeln!(
        svg,
        r##"<rect x="{left}" y="{top}" width="{}" height="{}" fill="none" stroke="#333"/>
<text x="{}" y="{}" text-anchor="middle">envelopes per input (the rightmost point of each curve: as many as fit in 65,216 bytes)</text>
<text x="20" y="{}" transform="rotate(-90 20 {})" text-anchor="middle">gas per reading</text>"##,
        right - left,
        bottom - top,
        (left + right) / 2.0,
        bottom + 40.0,
        (top + bottom) / 2.0,
        (top + bottom) / 2.0
    );
    // Baseline and target.
    let _ = writeln!(
        svg,
        r##"<line x1="{left}" y1="{0:.1}" x2="{right}" y2="{0:.1}" stroke="#d62728" stroke-width="2" stroke-dasharray="8 5"/>
<line x1="{left}" y1="{1:.1}" x2="{right}" y2="{1:.1}" stroke="#2ca02c" stroke-width="1.5" stroke-dasharray="2 4"/>"##,
        y(baseline),
        y(GAS_TARGET)
    );
    let colors = [(1usize, "#1f77b4"), (4, "#ff7f0e"), (16, "#9467bd")];
    for (per_envelope, color) in colors {
        let points: Vec<(f64, f64)> = rows
            .iter()
            .filter(|r| r.readings_per_envelope == per_envelope)
            .map(|r| (x(r.envelopes as f64), y(r.gas_per_reading())))
            .collect();
        let line = points
            .iter()
            .map(|(px, py)| format!("{px:.1},{py:.1}"))
            .collect::<Vec<_>>()
            .join(" ");
        let _ = writeln!(
            svg,
            r#"<polyline points="{line}" fill="none" stroke="{color}" stroke-width="2"/>"#
        );
        for (row, (px, py)) in rows
            .iter()
            .filter(|r| r.readings_per_envelope == per_envelope)
            .zip(&points)
        {
            let _ = writeln!(
                svg,
                r#"<circle cx="{px:.1}" cy="{py:.1}" r="4" fill="{color}"><title>{} readings/envelope, {} envelopes: {} gas/reading</title></circle>"#,
                per_envelope,
                row.envelopes,
                n(row.gas_per_reading())
            );
        }
        if let (Some(last), Some((px, py))) = (
            rows.iter()
                .rev()
                .find(|r| r.readings_per_envelope == per_envelope),
            points.last(),
        ) {
            let _ = writeln!(
                svg,
                r#"<text x="{:.1}" y="{:.1}" fill="{color}">{}</text>"#,
                px + 7.0,
                py + 4.0,
                n(last.gas_per_reading())
            );
        }
    }
    // Legend.
    let lx = right + 20.0;
    let mut ly = top + 10.0;
    for (per_envelope, color) in colors {
        let _ = writeln!(
            svg,
            r#"<line x1="{lx}" y1="{ly}" x2="{}" y2="{ly}" stroke="{color}" stroke-width="2"/><circle cx="{}" cy="{ly}" r="4" fill="{color}"/>
<text x="{}" y="{}">{per_envelope} reading{} / envelope</text>"#,
            lx + 28.0,
            lx + 14.0,
            lx + 36.0,
            ly + 4.0,
            if per_envelope == 1 { "" } else { "s" }
        );
        ly += 24.0;
    }
    let _ = writeln!(
        svg,
        r##"<line x1="{lx}" y1="{ly}" x2="{0}" y2="{ly}" stroke="#d62728" stroke-width="2" stroke-dasharray="8 5"/>
<text x="{1}" y="{2}">baseline: {3} gas</text>
<text x="{1}" y="{4}">(1,190 B/reading, 1 tx each)</text>
<line x1="{lx}" y1="{5}" x2="{0}" y2="{5}" stroke="#2ca02c" stroke-width="1.5" stroke-dasharray="2 4"/>
<text x="{1}" y="{6}">target: 1,000 gas</text>"##,
        lx + 28.0,
        lx + 36.0,
        ly + 4.0,
        n(baseline),
        ly + 20.0,
        ly + 44.0,
        ly + 48.0
    );
    svg.push_str("</svg>\n");
    svg
}

#[cfg(test)]
mod tests {
    use super::{n, percentile};

    #[test]
    fn numbers_are_rounded_with_thousands_separators() {
        assert_eq!(n(0.0), "0");
        assert_eq!(n(999.5), "1,000");
        assert_eq!(n(84_318.0), "84,318");
        assert_eq!(n(-1_234.6), "-1,235");
    }

    #[test]
    fn percentiles_are_nearest_rank() {
        let values = [1.0, 2.0, 3.0, 4.0];
        assert_eq!(percentile(&values, 0.0), 1.0);
        assert_eq!(percentile(&values, 50.0), 2.0);
        assert_eq!(percentile(&values, 95.0), 4.0);
        assert!(percentile(&[], 50.0).is_nan());
    }
}
