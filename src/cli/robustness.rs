//! `firstspike robustness`: accuracy of a first-spike model and of the rate baseline under
//! input jitter, spike deletion, weight quantisation, weight noise and a deadline.

use super::common::{print_json, progress_bar, say_above, ModelOnTest};
use clap::Args;
use firstspike::data::Dataset;
use firstspike::fsio::write_atomic;
use firstspike::model::Model;
use firstspike::rate::RateModel;
use firstspike::robust::picture::{self, points};
use firstspike::robust::{self, Kind, Level, RateSweep, SweepConfig, TemporalSweep};
use firstspike::{Error, Result};
use serde_json::json;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Flags of `robustness`.
#[derive(Args)]
pub struct RobustnessArgs {
    #[command(flatten)]
    on: ModelOnTest,
    /// The rate-coded baseline to perturb alongside.
    #[arg(long, default_value = "models/rate-784-800-10.bin")]
    rate: PathBuf,
    /// Skip the rate baseline.
    #[arg(long)]
    no_rate: bool,
    /// Trials per level of a random perturbation (mean and sd over them).
    #[arg(long, default_value_t = 3)]
    trials: usize,
    /// Seed of every random draw.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Samples per level re-run by the event engine, which must agree exactly (0 = none).
    #[arg(long, default_value_t = 100)]
    check: usize,
    /// Input jitter sds, units of tau_syn (comma-separated).
    #[arg(long, value_delimiter = ',')]
    jitter: Option<Vec<f64>>,
    /// Input spike deletion probabilities, in [0, 1) (comma-separated).
    #[arg(long, value_delimiter = ',')]
    deletion: Option<Vec<f64>>,
    /// Weight bit widths, 2 to 16 (comma-separated).
    #[arg(long, value_delimiter = ',')]
    bits: Option<Vec<u32>>,
    /// Relative weight-noise sds (comma-separated).
    #[arg(long, value_delimiter = ',')]
    noise: Option<Vec<f64>>,
    /// First-spike deadlines, units of tau_syn (comma-separated).
    #[arg(long, value_delimiter = ',')]
    deadline: Option<Vec<f64>>,
    /// Rate deadlines, in steps (comma-separated; at most --rate-steps).
    #[arg(long, value_delimiter = ',')]
    rate_deadline: Option<Vec<usize>>,
    /// Steps of each rate simulation (the readout step of its other sweeps).
    #[arg(long, default_value_t = 50)]
    rate_steps: usize,
    /// Poisson spikes per step of a white pixel in the rate network, in (0, 1].
    #[arg(long, default_value_t = 1.0)]
    rate_input: f64,
    /// Write PREFIX.json, PREFIX.csv and PREFIX.svg.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Print one JSON object.
    #[arg(long)]
    json: bool,
    /// Run no sweep: draw PREFIX.svg again from the PREFIX.json of an earlier run (with
    /// --out PREFIX; the model and the data are not read).
    #[arg(long, requires = "out")]
    redraw: bool,
}

impl RobustnessArgs {
    fn config(&self) -> SweepConfig {
        let d = SweepConfig::default();
        SweepConfig {
            seed: self.seed,
            trials: self.trials,
            event_check: self.check,
            jitter: self.jitter.clone().unwrap_or(d.jitter),
            deletion: self.deletion.clone().unwrap_or(d.deletion),
            bits: self.bits.clone().unwrap_or(d.bits),
            noise: self.noise.clone().unwrap_or(d.noise),
            deadline: self.deadline.clone().unwrap_or(d.deadline),
            rate_steps: self.rate_steps,
            rate_input: self.rate_input,
            rate_deadline: self.rate_deadline.clone().unwrap_or_else(|| {
                d.rate_deadline
                    .into_iter()
                    .filter(|&s| s <= self.rate_steps)
                    .collect()
            }),
        }
    }
}

pub fn run(a: RobustnessArgs) -> Result<()> {
    if a.redraw {
        return redraw(a.out.as_deref().expect("clap requires --out"));
    }
    let cfg = a.config();
    cfg.validate()?;
    let (threads, model, test) = a.on.load()?;
    let rate = if a.no_rate {
        None
    } else {
        let r = RateModel::load(&a.rate)?;
        r.check_input_dim(test.dim())?;
        Some(r)
    };
    let sw = sweep(&model, rate.as_ref(), &test, &cfg, threads, a.json)?;
    let (checked, agree) = event_check(&sw.ts);
    let loses = losses(&sw.ts, sw.rs.as_ref());
    let mut obj = json!({
        "model": a.on.model,
        "rate_model": rate.as_ref().map(|_| &a.rate),
        "samples": test.len(),
        "threads": threads,
        "config": cfg,
        "seconds": { "temporal": sw.secs_temporal, "rate": sw.secs_rate },
        "temporal": sw.ts,
        "rate": sw.rs,
        "event_check": { "samples": checked, "agree": agree },
        "loses_one_point": loses,
        "files": null,
    });
    if let Some(prefix) = &a.out {
        let title = picture::title(
            &a.on.model,
            sw.rs.is_some(),
            test.len(),
            cfg.seed,
            cfg.trials,
        );
        let files = write_files(prefix, &obj, &sw.ts, sw.rs.as_ref(), &title)?;
        obj["files"] = json!(files);
    }
    if a.json {
        print_json(&obj);
    } else {
        print_text(&sw, checked, agree, &obj, threads);
    }
    if !agree {
        return Err(Error::EnginesDisagree {
            what: "the event engine disagrees with the analytic solver on perturbed inputs".into(),
        });
    }
    Ok(())
}

/// Both codings' sweeps and their wall times.
struct Sweeps {
    ts: TemporalSweep,
    rs: Option<RateSweep>,
    secs_temporal: f64,
    secs_rate: f64,
}

/// Runs every sweep of `cfg` on the first-spike model, then on the rate model if there is one.
fn sweep(
    model: &Model,
    rate: Option<&RateModel>,
    test: &Dataset,
    cfg: &SweepConfig,
    threads: usize,
    quiet: bool,
) -> Result<Sweeps> {
    let passes = cfg.temporal_passes() + rate.map_or(0, |_| cfg.rate_passes());
    let bar = progress_bar(passes * test.len(), "robustness", quiet);
    let start = Instant::now();
    let ts = robust::temporal::sweep(model, test, cfg, threads, &|k| bar.inc(k))?;
    let secs_temporal = start.elapsed().as_secs_f64();
    say_above(
        &bar,
        &format!(
            "first-spike sweeps: {secs_temporal:.1} s; unperturbed accuracy {:.2} %",
            100.0 * ts.base.accuracy
        ),
    );
    let start = Instant::now();
    let rs = match rate {
        Some(r) => Some(robust::rate::sweep(r, test, cfg, threads, &|k| bar.inc(k))?),
        None => None,
    };
    let secs_rate = start.elapsed().as_secs_f64();
    bar.finish_and_clear();
    Ok(Sweeps {
        ts,
        rs,
        secs_temporal,
        secs_rate,
    })
}

/// The samples the event engine re-ran (each shared level counted once, with the base) and
/// whether it agreed on all of them.
fn event_check(ts: &TemporalSweep) -> (usize, bool) {
    let agree = ts.base_check.agree()
        && ts
            .levels
            .iter()
            .all(|l| l.event_check.as_ref().is_none_or(|c| c.agree()));
    let checked: usize = ts
        .levels
        .iter()
        .filter(|l| !is_shared(l))
        .filter_map(|l| l.event_check.as_ref())
        .map(|c| c.verify.samples)
        .sum::<usize>()
        + ts.base_check.verify.samples;
    (checked, agree)
}

/// The text report: the table, the check, the losses, the times, the files written.
fn print_text(sw: &Sweeps, checked: usize, agree: bool, obj: &serde_json::Value, threads: usize) {
    out!("{}", text_report(&sw.ts, sw.rs.as_ref()));
    outln!(
        "event engine re-ran {checked} perturbed samples: {}",
        if agree { "agrees exactly" } else { "DISAGREES" }
    );
    outln!("loses 1 point at: {}", obj["loses_one_point"]);
    outln!(
        "time: first-spike {:.1} s, rate {:.1} s ({threads} threads)",
        sw.secs_temporal,
        sw.secs_rate
    );
    if let Some(f) = obj["files"].as_array() {
        outln!(
            "wrote {}",
            f.iter()
                .filter_map(|v| v.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
}

/// Levels that reuse the unperturbed pass (their check is the base check).
fn is_shared(l: &Level) -> bool {
    l.kind == Kind::Deadline || (l.kind != Kind::WeightBits && l.level == 0.0)
}

/// The level at which each coding first loses one point, per kind.
fn losses(ts: &TemporalSweep, rs: Option<&RateSweep>) -> serde_json::Value {
    let of = |levels: &[Level], reference: f64| {
        let mut m = serde_json::Map::new();
        for k in Kind::ALL {
            if levels.iter().any(|l| l.kind == k) {
                m.insert(
                    k.name().into(),
                    json!(robust::level_losing(levels, k, reference, 1.0)),
                );
            }
        }
        serde_json::Value::Object(m)
    };
    json!({
        "temporal": of(&ts.levels, ts.base.accuracy),
        "rate": rs.map(|r| of(&r.levels, r.base.accuracy.mean)),
    })
}

fn fmt_opt(m: Option<robust::MeanSd>, digits: usize) -> String {
    m.map_or("-".into(), |m| format!("{:.*}", digits, m.mean))
}

fn text_report(ts: &TemporalSweep, rs: Option<&RateSweep>) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{:<13} {:>6} | {:>15} {:>8} {:>7} {:>7} | {:>15} {:>8} {:>7} {:>7}",
        "perturbation",
        "level",
        "first-spike acc",
        "no-out",
        "t_dec",
        "spikes",
        "rate acc",
        "no-out",
        "steps",
        "spikes"
    );
    for l in &ts.levels {
        let r = rs.and_then(|r| {
            r.levels
                .iter()
                .find(|x| x.kind == l.kind && x.level == l.level && l.kind != Kind::Deadline)
        });
        let _ = write!(
            s,
            "{:<13} {:>6} | {:>8.2} ± {:<4.2} {:>7.2}% {:>7} {:>7} |",
            l.kind.name(),
            l.level,
            100.0 * l.accuracy.mean,
            100.0 * l.accuracy.sd,
            100.0 * l.no_output.mean,
            fmt_opt(l.decision_time, 2),
            fmt_opt(l.spikes_to_decision, 0)
        );
        match r {
            Some(r) => {
                let _ = writeln!(s, " {}", rate_cells(r));
            }
            None => s.push('\n'),
        }
    }
    if let Some(r) = rs {
        for l in r.levels.iter().filter(|l| l.kind == Kind::Deadline) {
            let _ = writeln!(
                s,
                "{:<13} {:>6} | {:>15} {:>8} {:>7} {:>7} | {}",
                "rate deadline",
                l.level,
                "",
                "",
                "",
                "",
                rate_cells(l)
            );
        }
    }
    s
}

fn rate_cells(r: &Level) -> String {
    format!(
        "{:>8.2} ± {:<4.2} {:>7.2}% {:>7} {:>7}",
        100.0 * r.accuracy.mean,
        100.0 * r.accuracy.sd,
        100.0 * r.no_output.mean,
        fmt_opt(r.decision_time, 1),
        fmt_opt(r.spikes_to_decision, 0)
    )
}

/// Draws PREFIX.svg from PREFIX.json and writes it.
fn redraw(prefix: &Path) -> Result<()> {
    let (json, svg) = (
        firstspike::model::with_ext(prefix, "json"),
        firstspike::model::with_ext(prefix, "svg"),
    );
    let text = std::fs::read_to_string(&json).map_err(|e| Error::io(&json, e))?;
    let report: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| Error::report(format!("{}: {e}", json.display())))?;
    let picture = picture::picture_from_json(&report).map_err(|e| match e {
        Error::Report { what } => Error::report(format!("{}: {what}", json.display())),
        e => e,
    })?;
    write_atomic(&svg, picture.as_bytes())?;
    outln!("wrote {}", svg.display());
    Ok(())
}

/// Writes PREFIX.json (the `--json` object), PREFIX.csv (one row per coding, kind and level)
/// and PREFIX.svg (the picture). Returns the paths.
fn write_files(
    prefix: &Path,
    obj: &serde_json::Value,
    ts: &TemporalSweep,
    rs: Option<&RateSweep>,
    title: &str,
) -> Result<Vec<PathBuf>> {
    let with = |ext: &str| firstspike::model::with_ext(prefix, ext);
    if let Some(dir) = prefix.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    }
    let mut csv = String::from(
        "coding,perturbation,level,trials,accuracy_mean,accuracy_sd,no_output_mean,no_output_sd,decision_time_mean,decision_time_sd,spikes_to_decision_mean,spikes_to_decision_sd\n",
    );
    let rows = ts.levels.iter().map(|l| ("first-spike", l)).chain(
        rs.into_iter()
            .flat_map(|r| r.levels.iter().map(|l| ("rate", l))),
    );
    let ms = |m: Option<robust::MeanSd>| m.map_or(",".into(), |m| format!("{},{}", m.mean, m.sd));
    for (coding, l) in rows {
        let _ = writeln!(
            csv,
            "{coding},{},{},{},{},{},{},{},{},{}",
            l.kind.name(),
            l.level,
            l.trials,
            l.accuracy.mean,
            l.accuracy.sd,
            l.no_output.mean,
            l.no_output.sd,
            ms(l.decision_time),
            ms(l.spikes_to_decision)
        );
    }
    let rate_points = rs.map(|r| (r.steps, points(&r.levels)));
    let svg = picture::picture(
        title,
        &points(&ts.levels),
        rate_points.as_ref().map(|(n, p)| (*n, p.as_slice())),
    );
    let json_text = serde_json::to_string_pretty(obj).expect("json") + "\n";
    let files = vec![
        (with("json"), json_text),
        (with("csv"), csv),
        (with("svg"), svg),
    ];
    for (p, text) in &files {
        write_atomic(p, text.as_bytes())?;
    }
    Ok(files.into_iter().map(|f| f.0).collect())
}
