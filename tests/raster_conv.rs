//! `raster` on a convolutional model: the CSV and the sidecar place each neuron of a feature
//! map by channel, row and column; a dense model's raster keeps its four columns.

mod common;

use common::{mnist_slice, npy, random_arch_model};
use firstspike::data::Split;
use firstspike::{Model, NeuronParams, Shape};
use serde_json::Value;
use std::process::Command;

/// A conv model of `arch` with seeded random weights that make most neurons fire, at
/// tau_syn != 1 so that a time unit cannot hide.
fn conv_model(arch: &str) -> Model {
    let params = NeuronParams {
        tau_syn: 2.5,
        theta: 0.7,
    };
    random_arch_model(arch, 5, params)
}

#[test]
fn conv_raster_places_map_neurons_by_channel_row_column() {
    let d = std::env::temp_dir().join(format!("firstspike-raster-conv-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    let model = conv_model("28x28-4c5s2-6c3s2-10");
    model.save(&d.join("conv")).unwrap();
    let mut digits = mnist_slice(Split::Test);
    digits.truncate(3).unwrap();
    let images = d.join("digits.npy");
    std::fs::write(&images, npy("|u1", &[3, 28, 28], &digits.images)).unwrap();
    let out = d.join("r");
    let status = Command::new(env!("CARGO_BIN_EXE_firstspike"))
        .args(["raster", "--model"])
        .arg(d.join("conv.bin"))
        .arg("--inputs")
        .arg(&images)
        .args(["--index", "0,2", "--out"])
        .arg(&out)
        .status()
        .unwrap();
    assert!(status.success());
    let csv = std::fs::read_to_string(out.with_extension("csv")).unwrap();
    let mut lines = csv.lines();
    assert_eq!(
        lines.next(),
        Some("sample,layer,neuron,time,channel,row,col")
    );
    // Layer 0 is the 28x28x1 input, 1 a 12x12x4 map, 2 a 5x5x6 map, 3 the dense outputs.
    let maps = [(28, 1), (12, 4), (5, 6)];
    let mut per_layer = [0usize; 4];
    for line in lines {
        let f: Vec<&str> = line.split(',').collect();
        assert_eq!(f.len(), 7, "{line}");
        let (layer, neuron): (usize, usize) = (f[1].parse().unwrap(), f[2].parse().unwrap());
        per_layer[layer] += 1;
        match maps.get(layer) {
            Some(&(w, c)) => {
                let (ch, row, col): (usize, usize, usize) = (
                    f[4].parse().unwrap(),
                    f[5].parse().unwrap(),
                    f[6].parse().unwrap(),
                );
                assert!(ch < c && row < w && col < w, "{line}");
                assert_eq!(neuron, (row * w + col) * c + ch, "{line}");
            }
            None => assert_eq!(&f[4..], ["", "", ""], "{line}"),
        }
    }
    assert!(
        per_layer.iter().all(|&n| n > 0),
        "every layer fired: {per_layer:?}"
    );
    let side: Value =
        serde_json::from_str(&std::fs::read_to_string(out.with_extension("json")).unwrap())
            .unwrap();
    let shape = |h, w, c| serde_json::to_value(Shape { h, w, c }).unwrap();
    assert_eq!(
        side["maps"],
        Value::Array(vec![
            shape(28, 28, 1),
            shape(12, 12, 4),
            shape(5, 5, 6),
            Value::Null
        ])
    );
    assert!(side["columns"]["channel"].is_string());
    std::fs::remove_dir_all(&d).unwrap();
}
