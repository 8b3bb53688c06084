//! The comparison as text: a Markdown table and a CSV of the rate curve.
//!
//! Owns the two renderings only (pure functions returning strings; the caller writes files).
//! The picture is [`super::plot`].

use super::compare::{Comparison, Reference, MATCH_TOLERANCE};
use crate::counts::layer_name;
use crate::sparsity::Sparsity;
use std::fmt::Write;

/// What the numbers are about, for the captions.
#[derive(Clone, Debug, Default)]
pub struct Context {
    /// The first-spike model file and its architecture.
    pub temporal_model: String,
    /// The rate model file and its architecture.
    pub rate_model: String,
    /// The rate network's input, e.g. "Poisson, 1 spike/step for a white pixel, seed 1".
    pub rate_input: String,
}

/// A count for people: thousands separated, one decimal below 100.
pub fn count(x: f64) -> String {
    if !x.is_finite() {
        return format!("{x}");
    }
    if x.abs() < 100.0 {
        return format!("{x:.1}");
    }
    let s = format!("{:.0}", x.abs());
    let mut out = String::new();
    for (k, ch) in s.chars().enumerate() {
        if k > 0 && (s.len() - k) % 3 == 0 {
            out.push(',');
        }
        out.push(ch);
    }
    if x < 0.0 {
        out.insert(0, '-');
    }
    out
}

/// A ratio for people: three significant digits.
fn ratio(x: f64) -> String {
    if x.is_finite() && x.abs() < 10.0 {
        format!("{x:.3}")
    } else {
        count(x)
    }
}

fn pct(x: f64) -> String {
    format!("{:.2} %", 100.0 * x)
}

/// Sentence naming the operating point and why it was chosen.
pub fn operating_point_text(c: &Comparison) -> String {
    let op = &c.op;
    let what = match op.reference {
        Reference::Temporal => format!("the first-spike network's accuracy {} (lower than the rate network's own final accuracy)", pct(op.reference_accuracy)),
        Reference::RateFinal => format!("its own final accuracy {} at T = {}", pct(op.reference_accuracy), c.curve.steps()),
    };
    format!(
        "step {}: the first step at which the rate network's accuracy ({}) comes within {:.1} percentage points of {what}",
        op.step,
        pct(op.accuracy),
        100.0 * MATCH_TOLERANCE
    )
}

/// The Markdown report: what was compared, the table, and how it was counted.
pub fn markdown(c: &Comparison, ctx: &Context) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "# Rate-coded versus first-spike coding\n");
    let _ = writeln!(s, "- images: {} (test set)", c.samples);
    let _ = writeln!(s, "- first-spike model: {}", ctx.temporal_model);
    let _ = writeln!(
        s,
        "- rate model: {} (ReLU network accuracy {})",
        ctx.rate_model,
        pct(c.ann.accuracy)
    );
    let _ = writeln!(s, "- rate input: {}", ctx.rate_input);
    let _ = writeln!(s, "- operating point: {}\n", operating_point_text(c));
    markdown_table(&mut s, c);
    markdown_notes(&mut s, c);
    s
}

/// The table: one column per coding and stopping rule, one row per quantity.
fn markdown_table(s: &mut String, c: &Comparison) {
    let t = &c.temporal;
    let k = c.op.step - 1;
    let last = c.curve.steps() - 1;
    let nl = t
        .spikes_per_layer
        .len()
        .max(c.curve.spikes_per_layer.first().map_or(0, |v| v.len()));
    let _ = writeln!(
        s,
        "| | first-spike, up to decision | first-spike, full run | rate, T = {} (operating point) | rate, T = {} | rate, each sample stopped at its decision (oracle) |",
        c.op.step,
        last + 1
    );
    let _ = writeln!(s, "|---|---:|---:|---:|---:|---:|");
    let acc_final = c.curve.accuracy[last];
    let _ = writeln!(
        s,
        "| accuracy | {} | {} | {} | {} | {} |",
        pct(t.accuracy),
        pct(t.accuracy),
        pct(c.curve.accuracy[k]),
        pct(acc_final),
        pct(acc_final)
    );
    let _ = writeln!(
        s,
        "| spikes per inference, all layers | {} | {} | {} | {} | {} |",
        count(t.spikes),
        count(t.spikes_full),
        count(c.curve.spikes[k]),
        count(c.curve.spikes[last]),
        count(c.decisions.spikes_mean)
    );
    for l in 0..nl {
        let get = |v: &Vec<f64>| v.get(l).map_or("–".into(), |x| count(*x));
        let _ = writeln!(
            s,
            "| &nbsp;&nbsp;{} spikes | {} | {} | {} | {} | – |",
            layer_name(l, nl),
            get(&t.spikes_per_layer),
            get(&t.spikes_per_layer_full),
            get(&c.curve.spikes_per_layer[k]),
            get(&c.curve.spikes_per_layer[last])
        );
    }
    let _ = writeln!(
        s,
        "| synaptic events per inference | {} | {} | {} | {} | {} |",
        count(t.synaptic_events),
        count(t.synaptic_events_full),
        count(c.curve.synaptic_events[k]),
        count(c.curve.synaptic_events[last]),
        count(c.decisions.synaptic_events_mean)
    );
    let units = [
        &t.sparsity,
        &t.sparsity_full,
        &c.rate_sparsity,
        &c.rate_sparsity_final,
    ];
    let row = |s: &mut String, what: &str, f: &dyn Fn(&Sparsity) -> String| {
        let cells: Vec<String> = units.iter().map(|u| f(u)).collect();
        let _ = writeln!(s, "| {what} | {} | – |", cells.join(" | "));
    };
    row(s, "spikes per neuron, all layers (inputs included)", &|u| {
        ratio(u.spikes_per_neuron)
    });
    row(s, "spikes per hidden neuron", &|u| {
        u.spikes_per_hidden_neuron.map_or("–".into(), ratio)
    });
    row(s, "synaptic events per ReLU multiply-accumulate", &|u| {
        ratio(u.synaptic_events_per_relu_mac)
    });
    let _ = writeln!(
        s,
        "| time to decision | {} tau_syn (mean first output spike) | – | {} steps (fixed) | {} steps (fixed) | {:.1} steps mean, {:.0} median, {:.0} p90 ({} of {} decided) |\n",
        t.decision_time_mean.map_or("–".into(), |d| format!("{d:.3}")),
        c.op.step,
        last + 1,
        c.decisions.steps.mean,
        c.decisions.steps.median,
        c.decisions.steps.p90,
        c.decisions.decided,
        c.samples
    );
}

/// The ratios, the ReLU network's work, and how everything was counted.
fn markdown_notes(s: &mut String, c: &Comparison) {
    let _ = writeln!(
        s,
        "**Spike ratio** (rate at the operating point / first-spike up to the decision): **{:.1} x**. \
         **Synaptic-event ratio**: **{:.1} x**.\n",
        c.spike_ratio, c.synaptic_event_ratio
    );
    let _ = writeln!(
        s,
        "The ReLU network does {} multiply-accumulates per image densely, {} on average when zero \
         inputs and silent ReLUs are skipped.\n",
        count(c.ann.dense_macs as f64),
        count(c.ann.sparse_macs_mean)
    );
    let _ = writeln!(
        s,
        "Counting: every spike of every layer, inputs included; synaptic events = spikes x fan-out \
         (plus, with constant-current input, the once-per-image input projection). First-spike \
         samples with no output spike count as errors; rate samples whose top output count is \
         tied or zero count as errors. The oracle column stops each sample at the step after which \
         its prediction never changes again, which needs hindsight: a lower bound on the rate \
         network's cost at its final accuracy. Spikes per neuron: the spikes of the layers named \
         over their neurons (pixels for the inputs); synaptic events per ReLU \
         multiply-accumulate: over the {} multiply-accumulates per image of the ReLU network of \
         the first-spike network's shape.",
        count(c.temporal.sparsity.relu_macs as f64)
    );
}

/// The CSV: one row per rate step, then the first-spike rows. Columns: `coding`, `steps`,
/// `accuracy`, `spikes_per_inference`, `synaptic_events_per_inference`, `spikes_layer_<l>`.
pub fn csv(c: &Comparison) -> String {
    let nl = c
        .temporal
        .spikes_per_layer
        .len()
        .max(c.curve.spikes_per_layer.first().map_or(0, |v| v.len()));
    let mut s =
        String::from("coding,steps,accuracy,spikes_per_inference,synaptic_events_per_inference");
    for l in 0..nl {
        let _ = write!(s, ",spikes_layer_{l}");
    }
    s.push('\n');
    let layers = |v: &[f64]| {
        (0..nl)
            .map(|l| v.get(l).map_or(String::new(), |x| format!("{x}")))
            .collect::<Vec<_>>()
            .join(",")
    };
    for t in 0..c.curve.steps() {
        let _ = writeln!(
            s,
            "rate,{},{},{},{},{}",
            t + 1,
            c.curve.accuracy[t],
            c.curve.spikes[t],
            c.curve.synaptic_events[t],
            layers(&c.curve.spikes_per_layer[t])
        );
    }
    let tc = &c.temporal;
    let _ = writeln!(
        s,
        "temporal_up_to_decision,,{},{},{},{}",
        tc.accuracy,
        tc.spikes,
        tc.synaptic_events,
        layers(&tc.spikes_per_layer)
    );
    let _ = writeln!(
        s,
        "temporal_full_run,,{},{},{},{}",
        tc.accuracy,
        tc.spikes_full,
        tc.synaptic_events_full,
        layers(&tc.spikes_per_layer_full)
    );
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_are_readable() {
        assert_eq!(count(12.345), "12.3");
        assert_eq!(count(1234567.0), "1,234,567");
        assert_eq!(count(100.0), "100");
        assert_eq!(count(-4321.0), "-4,321");
    }
}
