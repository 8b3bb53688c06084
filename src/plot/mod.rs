//! Pictures as SVG text, with no font or graphics library: one small toolkit shared by every
//! picture of the crate, and the accuracy curve of a training log.
//!
//! The toolkit is three parts: `Svg`, a builder that escapes every text it is given
//! (`esc`); `LinearAxis` and `LogAxis`, which map values to pixels and choose round tick
//! values (`nice_step`); and two axis painters on `Svg` that draw tick marks, tick labels
//! and an axis label. Pictures are pure functions returning text; writing files is the
//! caller's business.
//!
//! Two chart shapes sit on it: [`line_chart`], one plot of lines, and `panel_grid`, a grid
//! of small plots whose points carry error bars and whose x axes may run backwards.
//!
//! This module owns the drawing primitives and the accuracy curve ([`accuracy_curve`]). It
//! does not own what the other pictures show: spike rasters live in [`crate::raster`], the
//! rate-versus-first-spike comparison in [`crate::rate::plot`], the robustness sweeps in
//! [`crate::robust::picture`].

mod axis;
mod curve;
mod gain;
mod panels;
mod svg;

pub(crate) use axis::{LinearAxis, LogAxis};
pub use curve::{accuracy_curve, curve_title, line_chart, model_name, EpochAccuracy, Series};
pub use gain::{gain_chart, side_by_side, EpochGain};
pub(crate) use panels::{panel_grid, ErrorSeries, Panel};
pub(crate) use svg::Svg;

#[cfg(test)]
pub(crate) mod tests {
    pub(crate) use super::svg::tests::assert_well_formed;
}
