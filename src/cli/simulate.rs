//! `firstspike simulate` and `firstspike verify`: the event engine on real data.

use super::common::{print_json, progress_bar, write_recorded, ModelOnTest, NpyInputs};
use clap::Args;
use firstspike::counts::{layer_name, CountReport, Summary};
use firstspike::event::{EventNet, RunOptions};
use firstspike::simulate::{simulate, verify, Record, SimReport, SimSummary};
use firstspike::sparsity::NetSize;
use firstspike::trace::{EngineKind, TraceHeader};
use firstspike::{Error, Result, Samples};
use serde_json::json;
use std::path::PathBuf;
use std::time::Instant;

/// Flags of `simulate`.
#[derive(Args)]
pub struct SimulateArgs {
    #[command(flatten)]
    on: ModelOnTest,
    #[command(flatten)]
    npy: NpyInputs,
    /// Stop each sample at its first output spike (the decision).
    #[arg(long)]
    until_decision: bool,
    /// Write every sample's trace under this folder (created if missing).
    #[arg(long)]
    record: Option<PathBuf>,
    /// Print one JSON object.
    #[arg(long)]
    json: bool,
}

/// Flags of `verify`.
#[derive(Args)]
pub struct VerifyArgs {
    #[command(flatten)]
    on: ModelOnTest,
    #[command(flatten)]
    npy: NpyInputs,
    /// Print one JSON object.
    #[arg(long)]
    json: bool,
}

pub fn run_simulate(a: SimulateArgs) -> Result<()> {
    let (threads, model, data) = a.on.load_with(&a.npy)?;
    let net = EventNet::from_model(&model)?.compile()?;
    let opts = RunOptions {
        until_decision: a.until_decision,
    };
    let start = Instant::now();
    let bar = progress_bar(data.len(), "simulate", a.json);
    let rep = simulate(
        &net,
        &model.encoding,
        &data,
        opts,
        threads,
        if a.record.is_some() {
            Record::Traces
        } else {
            Record::CountsOnly
        },
        &|k| bar.inc(k),
    )?;
    bar.finish_and_clear();
    let mut recorded = None;
    if let Some(dir) = &a.record {
        let h = TraceHeader::for_model(&model, EngineKind::Event, !a.until_decision);
        recorded = Some(write_recorded(dir, &h, &rep.traces, a.json)?);
    }
    let secs = start.elapsed().as_secs_f64();
    let correct = data.has_labels().then_some(rep.correct);
    if a.json {
        let summary = SimSummary::of(
            Some(a.on.model.clone()),
            &NetSize::of_layers(&model.layers),
            &rep.runs,
            correct,
            a.until_decision,
            secs,
            threads,
        );
        let mut v = serde_json::to_value(&summary).expect("json");
        v["recorded"] = recorded.unwrap_or(serde_json::Value::Null);
        print_json(&v);
    } else {
        print_text(&rep, correct, a.until_decision, secs, threads);
    }
    Ok(())
}

/// The text report of `simulate`: accuracy (`correct`, `None` without labels), a table of
/// counts per sample, the speed.
fn print_text(
    rep: &SimReport,
    correct: Option<usize>,
    until_decision: bool,
    secs: f64,
    threads: usize,
) {
    let c = CountReport::of(&rep.runs);
    let n = rep.runs.len();
    let events: u64 = rep.runs.iter().map(|r| r.total_events()).sum();
    let eps = events as f64 / secs;
    let accuracy = match correct {
        Some(k) => format!("accuracy {:.2} % ({k} / {n})", 100.0 * k as f64 / n as f64),
        None => "no labels (no accuracy)".into(),
    };
    outln!(
        "event engine, {} samples{}: {accuracy}, no output spike on {}",
        n,
        if until_decision {
            ", stopping at the decision"
        } else {
            ""
        },
        rep.no_output_spike
    );
    outln!("per sample        mean     median   p90      max");
    let row = |name: &str, s: &Summary| {
        outln!(
            "{name:<17} {:<8.1} {:<8.0} {:<8.0} {:<8.0}",
            s.mean,
            s.median,
            s.p90,
            s.max
        )
    };
    let nl = c.fired.len();
    for l in 0..nl {
        let name = layer_name(l, nl);
        row(&format!("{name} fired"), &c.fired[l]);
        row(&format!("{name} before dec."), &c.fired_before_decision[l]);
    }
    row("all spikes", &c.spikes_total);
    row("before decision", &c.spikes_before_decision_total);
    row("synaptic events", &c.synaptic_events_total);
    if let Some(t) = c.decision_time_mean {
        outln!("mean decision time {t:.3} tau_syn");
    }
    outln!(
        "{:.2} s on {} threads: {:.1} us per sample, {:.1} M synaptic events/s ({:.1} M per thread)",
        secs,
        threads,
        1e6 * secs / n as f64,
        eps / 1e6,
        eps / 1e6 / threads as f64
    );
}

pub fn run_verify(a: VerifyArgs) -> Result<()> {
    let (threads, model, data) = a.on.load_with(&a.npy)?;
    let start = Instant::now();
    let bar = progress_bar(data.len(), "verify", a.json);
    let rep = verify(&model, &data, threads, &|k| bar.inc(k))?;
    bar.finish_and_clear();
    let secs = start.elapsed().as_secs_f64();
    if a.json {
        let mut v = serde_json::to_value(&rep).expect("json");
        v["agree"] = json!(rep.agree());
        v["seconds"] = json!(secs);
        v["model"] = json!(a.on.model);
        v["threads"] = json!(threads);
        print_json(&v);
    } else {
        outln!(
            "verify {} samples ({} spikes compared): prediction mismatches {}, fired-status mismatches {}, causal-set mismatches {}, max |dt| {:.3e}, max rel dt {:.3e} (tolerance {:.0e}), {:.1} s",
            rep.samples,
            rep.spikes_compared,
            rep.prediction_mismatches,
            rep.fired_status_mismatches,
            rep.causal_set_mismatches,
            rep.max_abs_time_diff,
            rep.max_rel_time_diff,
            rep.tolerance,
            secs
        );
        outln!(
            "{}",
            if rep.agree() {
                "the engines agree"
            } else {
                "THE ENGINES DISAGREE"
            }
        );
    }
    if rep.agree() {
        Ok(())
    } else {
        Err(Error::EnginesDisagree {
            what: "the event engine and the analytic solver differ beyond the tolerance".into(),
        })
    }
}
