//! PNG histograms of samples with a density drawn over them (`verify
//! --plot`), and line charts on a log-scale y axis (`diagnose --plot`).
//!
//! plotters is built without its system font loader (no fontconfig), so
//! text needs a font registered from bytes: DejaVu Sans is built into the
//! binary (`assets/fonts/DejaVuSans.ttf`, licence beside it), so labels
//! render on a machine with no font installed. `WEIGHT_INIT_PLOT_FONT` may
//! name another TrueType file; one that cannot be read is one warning line
//! and the built-in font is used.
//!
//! Legends never cover data: a histogram's legend sits in the header strip
//! above the plotting area, a line chart's in a panel to its right.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use plotters::prelude::*;
use weight_init::files::{show, TempPath};

use super::CliError;

/// DejaVu Sans (Bitstream Vera licence, `assets/fonts/LICENSE-DejaVu.txt`),
/// the font every label is drawn with unless `WEIGHT_INIT_PLOT_FONT` names
/// another.
static BUILTIN_FONT: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");

/// Pixel size of every plot.
const SIZE: (u32, u32) = (900, 560);

/// Height of a histogram's header strip: title, subtitle and legend, above
/// the plotting area.
const HEADER: u32 = 108;

/// Width of a line chart's legend panel, right of the plotting area.
const LEGEND_PANEL: u32 = 230;

/// Histogram bins over `[min, max]` of the samples.
const BINS: usize = 100;

/// Points at which the density line is evaluated.
const DENSITY_POINTS: usize = 600;

/// The histogram bars' colour.
const BAR: RGBColor = RGBColor(110, 150, 205);

/// Registers the plot font once per process; `true` when text can be drawn
/// (always, unless the built-in font itself were unreadable).
fn font_available() -> bool {
    static FONT: OnceLock<bool> = OnceLock::new();
    *FONT.get_or_init(|| {
        let register = |bytes: &'static [u8]| {
            plotters::style::register_font("sans-serif", FontStyle::Normal, bytes).is_ok()
        };
        if let Some(path) = std::env::var_os("WEIGHT_INIT_PLOT_FONT").map(PathBuf::from) {
            match read_font(&path) {
                Ok(bytes) if register(bytes) => return true,
                Ok(_) => eprintln!(
                    "weight-init: warning: no plot font from WEIGHT_INIT_PLOT_FONT ({}: not a \
                     font file plotters can read); using the built-in DejaVu Sans",
                    show(&path)
                ),
                Err(e) => eprintln!(
                    "weight-init: warning: no plot font from WEIGHT_INIT_PLOT_FONT ({}); using \
                     the built-in DejaVu Sans",
                    weight_init::files::escape(&e)
                ),
            }
        }
        register(BUILTIN_FONT)
    })
}

/// The bytes of the font file `path`: a regular file of at most 64 MiB (a
/// FIFO or device must not hang or flood the command), leaked once because
/// plotters keeps `&'static` font data in a global table for the process.
fn read_font(path: &Path) -> Result<&'static [u8], String> {
    let (mut f, size) =
        weight_init::files::open_input(path, 64 << 20, "a font file").map_err(|e| e.to_string())?;
    let mut bytes = Vec::with_capacity(size as usize);
    std::io::Read::read_to_end(&mut f, &mut bytes).map_err(|e| format!("{}: {e}", show(path)))?;
    Ok(Box::leak(bytes.into_boxed_slice()))
}

/// The text of a histogram: the title and subtitle of its header strip,
/// and the file name's source.
#[derive(Debug, Clone)]
pub struct PlotText {
    /// First header line (e.g. the scheme as the user wrote it and the dtype).
    pub title: String,
    /// Second header line (where the samples come from).
    pub subtitle: String,
    /// The density line's legend label.
    pub density: String,
    /// The text the file name is made from ([`file_stem`]).
    pub stem: String,
}

/// A directory that plots are written into, checked before any work is
/// done so a bad path fails fast instead of after minutes of fills.
#[derive(Debug)]
pub struct PlotDir {
    dir: PathBuf,
    text: bool,
    used_stems: Vec<String>,
}

impl PlotDir {
    /// Creates `dir` if missing (only `dir` itself: a missing parent is an
    /// error naming it, never created silently) and proves it writable by
    /// creating and removing a probe file. Also registers the font, so its
    /// warning (if any) comes first.
    pub fn prepare(dir: &Path) -> Result<Self, CliError> {
        let fail = |e: String| CliError(format!("--plot: {}: {e}", show(dir)));
        match std::fs::metadata(dir) {
            Ok(m) if m.is_dir() => {}
            Ok(_) => return Err(fail("not a directory".into())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let parent = match dir.parent() {
                    Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
                    _ => PathBuf::from("."),
                };
                if !parent.is_dir() {
                    return Err(fail(format!(
                        "the directory `{}` does not exist (it is not created)",
                        show(&parent)
                    )));
                }
                std::fs::create_dir(dir).map_err(|e| fail(e.to_string()))?;
            }
            Err(e) => return Err(fail(e.to_string())),
        }
        drop(TempPath::create(&dir.join("probe.png"), ".png")?);
        Ok(Self {
            dir: dir.to_path_buf(),
            text: font_available(),
            used_stems: Vec::new(),
        })
    }

    /// Whether plots carry text (title, axis labels, legend).
    pub fn has_text(&self) -> bool {
        self.text
    }

    /// Draws a density histogram of `samples` (`BINS` bins over their
    /// range) with `density` as a line over it, headed by `text`, into
    /// `<stem>.png` where `stem` is `text.stem` with every non-alphanumeric
    /// character replaced by `_` (with `_2`, `_3`, ... appended when two
    /// stems map to the same name). Returns the file written.
    ///
    /// The image goes to a hidden temporary file first and is renamed into
    /// place, so an error never leaves a partial plot under the final name.
    /// (The temporary name ends in `.png` because plotters picks the
    /// encoder from the extension.)
    pub fn histogram(
        &mut self,
        text: &PlotText,
        samples: &[f32],
        density: &dyn Fn(f64) -> f64,
    ) -> Result<PathBuf, CliError> {
        let stem = self.unique_stem(&text.stem);
        let path = self.dir.join(format!("{stem}.png"));
        let tmp = TempPath::create(&path, ".png")?;
        let drawn = {
            let root = BitMapBackend::new(tmp.path(), SIZE).into_drawing_area();
            draw_histogram(&root, text, samples, density, self.text)
                .and_then(|()| root.present().map_err(|e| e.to_string()))
        };
        drawn.map_err(|e| CliError(format!("cannot write plot {}: {e}", show(&path))))?;
        tmp.persist()?;
        Ok(path)
    }

    fn unique_stem(&mut self, title: &str) -> String {
        let base = file_stem(title);
        let mut stem = base.clone();
        let mut k = 2;
        while self.used_stems.contains(&stem) {
            stem = format!("{base}_{k}");
            k += 1;
        }
        self.used_stems.push(stem.clone());
        stem
    }
}

/// A file name stem from a scheme's text: every character that is not an
/// ASCII letter or digit becomes `_` (no collapsing, so `low=-1` and
/// `low=1` stay apart): `uniform(low=-1, high=1)` gives
/// `uniform_low__1__high_1_`.
pub fn file_stem(text: &str) -> String {
    let s: String = text
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    if s.is_empty() {
        "plot".into()
    } else {
        s
    }
}

/// Density-normalized bin heights of `samples` over `[lo, hi]`.
fn histogram_heights(samples: &[f32], lo: f64, hi: f64) -> Vec<f64> {
    let width = (hi - lo) / BINS as f64;
    let mut counts = vec![0u64; BINS];
    for &x in samples {
        let b = (((x as f64 - lo) / width) as usize).min(BINS - 1);
        counts[b] += 1;
    }
    let norm = samples.len() as f64 * width;
    counts.into_iter().map(|c| c as f64 / norm).collect()
}

fn draw_histogram<DB: DrawingBackend>(
    root: &DrawingArea<DB, plotters::coord::Shift>,
    text: &PlotText,
    samples: &[f32],
    density: &dyn Fn(f64) -> f64,
    with_text: bool,
) -> Result<(), String> {
    let (lo, hi) = samples
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), &x| {
            (l.min(x as f64), h.max(x as f64))
        });
    if !(lo.is_finite() && hi.is_finite() && lo < hi) {
        return Err("samples are empty, constant or not finite: nothing to histogram".into());
    }
    let heights = histogram_heights(samples, lo, hi);
    let width = (hi - lo) / BINS as f64;
    let curve: Vec<(f64, f64)> = (0..=DENSITY_POINTS)
        .map(|i| {
            let x = lo + (hi - lo) * i as f64 / DENSITY_POINTS as f64;
            (x, density(x))
        })
        .filter(|(_, y)| y.is_finite())
        .collect();
    let y_max = heights
        .iter()
        .copied()
        .chain(curve.iter().map(|p| p.1))
        .fold(0.0f64, f64::max)
        * 1.08;
    let y_max = if y_max > 0.0 { y_max } else { 1.0 };

    let err = |e: DrawingAreaErrorKind<DB::ErrorType>| e.to_string();
    root.fill(&WHITE).map_err(err)?;
    // The header strip holds the title, the subtitle and the legend, so
    // the legend can never cover a bar or the density line.
    let (header, body) = root.split_vertically(HEADER);
    let line_style = RED.stroke_width(2);
    if with_text {
        let font = |size: u32| ("sans-serif", size).into_font().color(&BLACK);
        header
            .draw(&Text::new(text.title.clone(), (18, 8), font(22)))
            .map_err(err)?;
        header
            .draw(&Text::new(text.subtitle.clone(), (18, 38), font(14)))
            .map_err(err)?;
        // Two legend rows, so that a long law (a truncated normal's f32
        // bounds) never runs into the samples' entry.
        let y = 62;
        header
            .draw(&Rectangle::new([(18, y), (36, y + 12)], BAR.filled()))
            .map_err(err)?;
        header
            .draw(&Text::new(
                format!("samples (n = {}, {BINS} bins)", samples.len()),
                (44, y - 1),
                font(14),
            ))
            .map_err(err)?;
        let y = y + 22;
        header
            .draw(&PathElement::new(
                vec![(18, y + 6), (36, y + 6)],
                line_style,
            ))
            .map_err(err)?;
        header
            .draw(&Text::new(text.density.clone(), (44, y - 1), font(14)))
            .map_err(err)?;
    }
    let mut builder = ChartBuilder::on(&body);
    builder.margin(18).margin_top(4);
    if with_text {
        builder.x_label_area_size(48).y_label_area_size(72);
    }
    // Without label areas plotters draws no tick labels, so nothing below
    // needs a font when `with_text` is false.
    let mut chart = builder
        .build_cartesian_2d(lo..hi, 0.0..y_max)
        .map_err(|e| e.to_string())?;
    let mut mesh = chart.configure_mesh();
    mesh.light_line_style(RGBColor(235, 235, 235));
    if with_text {
        mesh.x_desc("value")
            .y_desc("density")
            .label_style(("sans-serif", 15))
            .axis_desc_style(("sans-serif", 17));
    }
    mesh.draw().map_err(|e| e.to_string())?;
    chart
        .draw_series(heights.iter().enumerate().map(|(i, &h)| {
            let x0 = lo + i as f64 * width;
            Rectangle::new([(x0, 0.0), (x0 + width, h)], BAR.filled())
        }))
        .map_err(|e| e.to_string())?;
    chart
        .draw_series(LineSeries::new(curve, line_style))
        .map_err(|e| e.to_string())?;
    Ok(())
}

/// Line colours of [`log_line_chart`], in series order (then repeated):
/// far enough apart that a test can tell the lines apart by colour.
pub const LINE_COLOURS: [RGBColor; 10] = [
    RGBColor(31, 119, 180),
    RGBColor(214, 39, 40),
    RGBColor(44, 160, 44),
    RGBColor(148, 103, 189),
    RGBColor(255, 127, 14),
    RGBColor(23, 190, 207),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(188, 189, 34),
    RGBColor(60, 60, 60),
];

/// One line of a [`log_line_chart`]: a legend label and its points.
#[derive(Debug, Clone)]
pub struct Series {
    /// Legend label.
    pub label: String,
    /// `(x, y)` points; `y <= 0` (or not finite) is drawn at the chart's
    /// floor, see [`log_line_chart`].
    pub points: Vec<(f64, f64)>,
}

/// Checks that `path` can be written, before any work is done: a `.png`
/// name whose directory exists (a missing directory is an error naming it,
/// never created) and that is new or a regular file; then creates and
/// removes a hidden probe file beside it. Also registers the font. Returns
/// whether plots carry text.
pub fn prepare_file(path: &Path) -> Result<bool, CliError> {
    if path.extension().and_then(|e| e.to_str()) != Some("png") {
        return Err(CliError(format!(
            "cannot write plot `{}`: the file name must end in .png",
            show(path)
        )));
    }
    let fail = |e: weight_init::Error| CliError(format!("--plot: {e}"));
    drop(TempPath::create(path, ".png").map_err(fail)?);
    Ok(font_available())
}

/// Draws `series` as lines (with a marker at every point) on a log-scale y
/// axis into the PNG `path`, with a legend when a font is available. The
/// y range spans the positive values; the floor is a tenth of the smallest
/// positive value (1e-10 when there is none), and a value that is 0 or not
/// finite (a zeros scheme, an underflow to 0) is drawn on the floor, with
/// the caption saying so. Returns the floor.
///
/// The image is drawn into a hidden temporary file first and renamed into
/// place, so an error never leaves a partial plot under `path`.
pub fn log_line_chart(
    path: &Path,
    title: &str,
    x_desc: &str,
    y_desc: &str,
    series: &[Series],
) -> Result<f64, CliError> {
    let text = font_available();
    let tmp = TempPath::create(path, ".png")?;
    let floor = chart_floor(series);
    let drawn = {
        let root = BitMapBackend::new(tmp.path(), SIZE).into_drawing_area();
        draw_log_lines(&root, title, x_desc, y_desc, series, floor, text)
            .and_then(|()| root.present().map_err(|e| e.to_string()))
    };
    drawn.map_err(|e| CliError(format!("cannot write plot {}: {e}", show(path))))?;
    tmp.persist()?;
    Ok(floor)
}

/// A tenth of the smallest positive finite y, or 1e-10 when there is none.
fn chart_floor(series: &[Series]) -> f64 {
    let min_pos = series
        .iter()
        .flat_map(|s| s.points.iter().map(|p| p.1))
        .filter(|y| y.is_finite() && *y > 0.0)
        .fold(f64::INFINITY, f64::min);
    if min_pos.is_finite() {
        min_pos / 10.0
    } else {
        1e-10
    }
}

fn draw_log_lines<DB: DrawingBackend>(
    root: &DrawingArea<DB, plotters::coord::Shift>,
    title: &str,
    x_desc: &str,
    y_desc: &str,
    series: &[Series],
    floor: f64,
    text: bool,
) -> Result<(), String> {
    let err = |e: DrawingAreaErrorKind<DB::ErrorType>| e.to_string();
    root.fill(&WHITE).map_err(err)?;
    let on_floor = |y: f64| if y.is_finite() && y > 0.0 { y } else { floor };
    let (x_lo, x_hi) = series
        .iter()
        .flat_map(|s| s.points.iter().map(|p| p.0))
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), x| {
            (l.min(x), h.max(x))
        });
    if !(x_lo.is_finite() && x_hi.is_finite()) {
        return Err("no points to plot".into());
    }
    let x_hi = if x_hi > x_lo { x_hi } else { x_lo + 1.0 };
    let y_hi = series
        .iter()
        .flat_map(|s| s.points.iter().map(|p| on_floor(p.1)))
        .fold(floor, f64::max);
    // The y axis is log10(y) on a linear scale, labelled as powers of
    // ten: plotters' own log scale stops labelling below 1e-15, and an
    // underflowing scheme reaches 1e-40.
    let y_range = (floor / 2.0).log10()..(y_hi * 2.0).log10();
    let any_floor = series
        .iter()
        .any(|s| s.points.iter().any(|p| !(p.1.is_finite() && p.1 > 0.0)));
    // The legend gets a panel of its own right of the plotting area, so it
    // never covers a line.
    let (plot_area, panel) =
        root.split_horizontally(root.dim_in_pixel().0.saturating_sub(if text {
            LEGEND_PANEL
        } else {
            0
        }));
    let mut builder = ChartBuilder::on(&plot_area);
    builder.margin(18);
    if text {
        let caption = if any_floor {
            format!("{title} (std 0 drawn at {floor:.1e})")
        } else {
            title.to_string()
        };
        builder
            .caption(caption, ("sans-serif", 22))
            .x_label_area_size(48)
            .y_label_area_size(84);
    }
    let mut legend_y = 40;
    let mut chart = builder
        .build_cartesian_2d(x_lo..x_hi, y_range)
        .map_err(|e| e.to_string())?;
    let mut mesh = chart.configure_mesh();
    mesh.light_line_style(RGBColor(235, 235, 235));
    if text {
        mesh.x_desc(x_desc)
            .y_desc(y_desc)
            .x_label_formatter(&|x| format!("{x:.0}"))
            .y_labels(12)
            .y_label_formatter(&|y| format!("1e{y:.0}"))
            .label_style(("sans-serif", 15))
            .axis_desc_style(("sans-serif", 17));
    }
    mesh.draw().map_err(|e| e.to_string())?;
    for (i, s) in series.iter().enumerate() {
        let colour = LINE_COLOURS[i % LINE_COLOURS.len()];
        let style = colour.stroke_width(2);
        let points: Vec<(f64, f64)> = s
            .points
            .iter()
            .map(|&(x, y)| (x, on_floor(y).log10()))
            .collect();
        chart
            .draw_series(LineSeries::new(points.clone(), style))
            .map_err(|e| e.to_string())?;
        if text {
            let zero = s.points.iter().any(|p| !(p.1.is_finite() && p.1 > 0.0));
            let font = ("sans-serif", 13).into_font().color(&BLACK);
            panel
                .draw(&PathElement::new(
                    vec![(4, legend_y + 7), (22, legend_y + 7)],
                    style,
                ))
                .map_err(err)?;
            let mut lines = wrap(&s.label, LEGEND_CHARS);
            if zero {
                lines.push("(0 drawn at the floor)".into());
            }
            for line in lines {
                panel
                    .draw(&Text::new(line, (28, legend_y), font.clone()))
                    .map_err(err)?;
                legend_y += 16;
            }
            legend_y += 14;
        }
        chart
            .draw_series(points.iter().map(|&p| Circle::new(p, 3, colour.filled())))
            .map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// Characters per line of a line chart's legend panel.
const LEGEND_CHARS: usize = 28;

/// `text` in lines of at most about `width` characters, broken after a
/// comma or space where there is one (a long word stays whole).
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for piece in text.split_inclusive([',', ' ']) {
        if !line.is_empty() && line.chars().count() + piece.chars().count() > width {
            lines.push(line.trim_end().to_string());
            line.clear();
        }
        line.push_str(if line.is_empty() {
            piece.trim_start()
        } else {
            piece
        });
    }
    if !line.trim().is_empty() {
        lines.push(line.trim_end().to_string());
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stems_keep_signs_apart() {
        assert_eq!(
            file_stem("uniform(low=-1, high=1)"),
            "uniform_low__1__high_1_"
        );
        assert_ne!(file_stem("normal(mean=-1)"), file_stem("normal(mean=1)"));
    }

    /// Pixels of each [`LINE_COLOURS`] entry in a chart of `n` series drawn
    /// into memory (no text, so only lines and markers carry colour).
    fn colour_pixels(n: usize) -> Vec<usize> {
        let (w, h) = SIZE;
        let mut buf = vec![0u8; (w * h * 3) as usize];
        let series: Vec<Series> = (0..n)
            .map(|i| Series {
                label: format!("s{i}"),
                // The last series is all zeros: drawn on the floor.
                points: (1..=20)
                    .map(|l| {
                        let y = if i + 1 == n {
                            0.0
                        } else {
                            10f64.powi(-(i as i32) * l / 4)
                        };
                        (l as f64, y)
                    })
                    .collect(),
            })
            .collect();
        {
            let root = BitMapBackend::with_buffer(&mut buf, SIZE).into_drawing_area();
            let floor = chart_floor(&series);
            draw_log_lines(&root, "t", "x", "y", &series, floor, false).unwrap();
            root.present().unwrap();
        }
        LINE_COLOURS
            .iter()
            .map(|c| {
                buf.chunks_exact(3)
                    .filter(|p| p[0] == c.0 && p[1] == c.1 && p[2] == c.2)
                    .count()
            })
            .collect()
    }

    #[test]
    fn one_line_colour_per_series() {
        for n in [1, 4, 7] {
            let counts = colour_pixels(n);
            for (i, &c) in counts.iter().enumerate() {
                if i < n {
                    assert!(c > 200, "series {i} of {n}: only {c} pixels of its colour");
                } else {
                    assert_eq!(c, 0, "colour {i} drawn with only {n} series");
                }
            }
        }
    }

    /// A histogram drawn into memory with the built-in font: text in the
    /// title, subtitle and legend rows of the header strip, and no bar
    /// pixel above the plotting area except the legend's own swatch (so
    /// the legend covers no bar), bars below it.
    #[test]
    fn histogram_legend_stays_off_the_bars_and_text_renders() {
        assert!(font_available(), "the built-in font registers");
        let (w, h) = (SIZE.0 as usize, SIZE.1 as usize);
        let mut buf = vec![0u8; w * h * 3];
        // Tall bars everywhere: a uniform grid over [-1, 1).
        let xs: Vec<f32> = (0..20_000)
            .map(|i| (i as f32 + 0.5) / 10_000.0 - 1.0)
            .collect();
        let text = PlotText {
            title: "uniform(-1, 1) in f32".into(),
            subtitle: "20000 f32 samples from the CPU backend".into(),
            density: "exact density of uniform(-1, 1)".into(),
            stem: "t".into(),
        };
        {
            let root = BitMapBackend::with_buffer(&mut buf, SIZE).into_drawing_area();
            let pdf = |x: f64| if (-1.0..1.0).contains(&x) { 0.5 } else { 0.0 };
            draw_histogram(&root, &text, &xs, &pdf, true).unwrap();
            root.present().unwrap();
        }
        let px = |x: usize, y: usize| {
            let i = (y * w + x) * 3;
            [buf[i], buf[i + 1], buf[i + 2]]
        };
        let dark = |rows: std::ops::Range<usize>| {
            rows.flat_map(|y| (0..w).map(move |x| (x, y)))
                .filter(|&(x, y)| px(x, y).iter().all(|&c| c < 100))
                .count()
        };
        for (rows, what) in [
            (0..34, "title"),
            (34..58, "subtitle"),
            (58..80, "samples' legend"),
            (80..108, "density's legend"),
        ] {
            let n = dark(rows);
            assert!(n > 50, "only {n} text pixels in the {what}");
        }
        let bar = [BAR.0, BAR.1, BAR.2];
        let mut above = 0;
        for y in 0..HEADER as usize {
            for x in 0..w {
                if px(x, y) == bar {
                    // The legend's swatch, [(18, 62), (36, 74)].
                    assert!(
                        (18..=36).contains(&x) && (62..=74).contains(&y),
                        "bar colour at ({x}, {y}) in the header"
                    );
                    above += 1;
                }
            }
        }
        assert!(above > 0, "no legend swatch");
        let below = (HEADER as usize..h)
            .flat_map(|y| (0..w).map(move |x| (x, y)))
            .filter(|&(x, y)| px(x, y) == bar)
            .count();
        assert!(below > 100_000, "only {below} bar pixels");
    }

    #[test]
    fn legend_labels_wrap_at_commas() {
        let lines = wrap(
            "kaiming_normal(a=0, mode=fan_in, nonlinearity=leaky_relu)",
            28,
        );
        assert!(lines.len() >= 2, "{lines:?}");
        assert!(
            lines.iter().all(|l| l.chars().count() <= 28 + 16),
            "{lines:?}"
        );
        assert_eq!(
            lines.concat().replace(' ', ""),
            "kaiming_normal(a=0,mode=fan_in,nonlinearity=leaky_relu)"
        );
        assert_eq!(wrap("zeros", 28), ["zeros"]);
    }

    #[test]
    fn heights_integrate_to_one() {
        let xs: Vec<f32> = (0..1000).map(|i| i as f32 / 999.0).collect();
        let h = histogram_heights(&xs, 0.0, 1.0);
        let total: f64 = h.iter().sum::<f64>() / BINS as f64;
        assert!((total - 1.0).abs() < 1e-12);
    }
}
