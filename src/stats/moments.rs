//! Sample moments: Welford's update (B. P. Welford, Technometrics 4(3),
//! 1962; [`Moments`], [`RunningMoments`]) and
//! sums of deviations from a known centre ([`CentredMoments`]).

/// Mean, standard deviation (n - 1 denominator), minimum and maximum,
/// accumulated in f64.
///
/// ```
/// use weight_init::stats::Moments;
/// let m = Moments::of(&[1.0, 2.0, 3.0]);
/// assert_eq!(m.mean, 2.0);
/// assert_eq!(m.std, 1.0);
/// assert_eq!((m.min, m.max), (1.0, 3.0));
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Moments {
    /// Number of samples.
    pub n: u64,
    /// Sample mean.
    pub mean: f64,
    /// Sample standard deviation.
    pub std: f64,
    /// Smallest sample.
    pub min: f64,
    /// Largest sample.
    pub max: f64,
}

impl Moments {
    /// Moments of a slice of f32 samples (Welford's update, [`RunningMoments`]).
    ///
    /// ```
    /// use weight_init::stats::Moments;
    /// let m = Moments::of(&[2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0]);
    /// assert_eq!((m.n, m.mean, m.min, m.max), (8, 5.0, 2.0, 9.0));
    /// assert!((m.std - (32.0f64 / 7.0).sqrt()).abs() < 1e-12); // n - 1 denominator
    /// ```
    #[must_use]
    pub fn of(xs: &[f32]) -> Self {
        let mut r = RunningMoments::new();
        for &x in xs {
            r.push(x as f64);
        }
        r.moments()
    }
}

/// [`Moments`] accumulated one value at a time (Welford's update), for
/// samples streamed in pieces.
///
/// ```
/// use weight_init::stats::{Moments, RunningMoments};
/// let mut r = RunningMoments::new();
/// for x in [1.0, 2.0, 3.0] {
///     r.push(x);
/// }
/// assert_eq!(r.moments(), Moments::of(&[1.0, 2.0, 3.0]));
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RunningMoments {
    n: u64,
    mean: f64,
    m2: f64,
    min: f64,
    max: f64,
}

impl Default for RunningMoments {
    fn default() -> Self {
        Self::new()
    }
}

impl RunningMoments {
    /// No samples yet.
    ///
    /// ```
    /// use weight_init::stats::RunningMoments;
    /// let m = RunningMoments::new().moments();
    /// assert_eq!((m.n, m.mean, m.std), (0, 0.0, 0.0));
    /// assert_eq!((m.min, m.max), (f64::INFINITY, f64::NEG_INFINITY));
    /// ```
    #[must_use]
    pub fn new() -> Self {
        Self {
            n: 0,
            mean: 0.0,
            m2: 0.0,
            min: f64::INFINITY,
            max: f64::NEG_INFINITY,
        }
    }

    /// Adds one sample.
    ///
    /// ```
    /// use weight_init::stats::RunningMoments;
    /// let mut r = RunningMoments::new();
    /// r.push(3.0);
    /// r.push(5.0);
    /// assert_eq!((r.moments().mean, r.moments().max), (4.0, 5.0));
    /// ```
    pub fn push(&mut self, x: f64) {
        self.n += 1;
        let d = x - self.mean;
        self.mean += d / self.n as f64;
        self.m2 += d * (x - self.mean);
        self.min = self.min.min(x);
        self.max = self.max.max(x);
    }

    /// The moments so far: std 0 below two samples; with none, mean 0, min
    /// infinity and max minus infinity.
    ///
    /// ```
    /// use weight_init::stats::RunningMoments;
    /// let mut r = RunningMoments::default();
    /// r.push(1.5);
    /// let m = r.moments();
    /// assert_eq!((m.n, m.mean, m.std), (1, 1.5, 0.0)); // std 0 below two samples
    /// ```
    #[must_use]
    pub fn moments(&self) -> Moments {
        let std = if self.n > 1 {
            (self.m2 / (self.n - 1) as f64).sqrt()
        } else {
            0.0
        };
        Moments {
            n: self.n,
            mean: self.mean,
            std,
            min: self.min,
            max: self.max,
        }
    }
}

/// Sample moments accumulated chunk by chunk as sums of deviations from a
/// known centre (a distribution's exact mean), not with [`Moments`]'
/// Welford update: the sums stay well conditioned over billions of values
/// without a second pass, and the 4th moment comes for free. Non-finite
/// values are counted apart and left out of the sums.
///
/// ```
/// use weight_init::stats::CentredMoments;
/// let mut acc = CentredMoments::new(2.0);
/// acc.add(&[1.0, 2.0]);
/// acc.add(&[3.0, f32::NAN]);
/// let m = acc.finish();
/// assert_eq!((m.n, m.nonfinite, m.mean, m.std), (4, 1, 2.0, 1.0));
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CentredMoments {
    centre: f64,
    n: u64,
    s1: f64,
    s2: f64,
    s4: f64,
    min: f64,
    max: f64,
    nonfinite: u64,
}

/// What [`CentredMoments::finish`] reports.
///
/// ```
/// use weight_init::stats::CentredMoments;
/// let mut acc = CentredMoments::new(0.0);
/// acc.add(&[-1.0, 1.0, f32::INFINITY]);
/// let m = acc.finish();
/// assert_eq!((m.n, m.nonfinite, m.mean, m.kurtosis), (3, 1, 0.0, 1.0));
/// assert_eq!((m.min, m.max), (-1.0, 1.0));
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub struct SampleMoments {
    /// Values added, non-finite ones included.
    pub n: u64,
    /// Mean of the finite values.
    pub mean: f64,
    /// Standard deviation of the finite values, n - 1 denominator.
    pub std: f64,
    /// `m4 / m2^2` of the sample.
    pub kurtosis: f64,
    /// Smallest finite value (infinity when there is none).
    pub min: f64,
    /// Largest finite value (minus infinity when there is none).
    pub max: f64,
    /// NaN and infinite values seen.
    pub nonfinite: u64,
}

impl CentredMoments {
    /// No values yet; deviations are taken from `centre`.
    ///
    /// ```
    /// use weight_init::stats::CentredMoments;
    /// let mut acc = CentredMoments::new(10.0);
    /// acc.add(&[9.0, 11.0]);
    /// assert_eq!(acc.finish().mean, 10.0);
    /// ```
    #[must_use]
    pub fn new(centre: f64) -> Self {
        Self {
            centre,
            n: 0,
            s1: 0.0,
            s2: 0.0,
            s4: 0.0,
            min: f64::INFINITY,
            max: f64::NEG_INFINITY,
            nonfinite: 0,
        }
    }

    /// Adds a chunk of values.
    ///
    /// ```
    /// use weight_init::stats::CentredMoments;
    /// let mut acc = CentredMoments::new(0.0);
    /// acc.add(&[1.0, 2.0]);
    /// acc.add(&[3.0]); // chunks add up
    /// assert_eq!((acc.finish().n, acc.finish().mean), (3, 2.0));
    /// ```
    pub fn add(&mut self, xs: &[f32]) {
        // Per-chunk partial sums, then one add each: keeps the rounding
        // error of the totals near sqrt(chunks) rather than n ulps.
        let (mut s1, mut s2, mut s4) = (0.0f64, 0.0f64, 0.0f64);
        for &x in xs {
            let x = x as f64;
            if !x.is_finite() {
                self.nonfinite += 1;
                continue;
            }
            let d = x - self.centre;
            let d2 = d * d;
            s1 += d;
            s2 += d2;
            s4 += d2 * d2;
            self.min = self.min.min(x);
            self.max = self.max.max(x);
        }
        self.n += xs.len() as u64;
        self.s1 += s1;
        self.s2 += s2;
        self.s4 += s4;
    }

    /// The moments of everything added.
    ///
    /// ```
    /// use weight_init::stats::CentredMoments;
    /// let mut acc = CentredMoments::new(0.5);
    /// acc.add(&[0.0, 1.0, 0.0, 1.0]);
    /// let m = acc.finish();
    /// assert_eq!((m.mean, m.kurtosis), (0.5, 1.0));
    /// assert!((m.std - (1.0f64 / 3.0).sqrt()).abs() < 1e-12);
    /// ```
    #[must_use]
    pub fn finish(&self) -> SampleMoments {
        let n = (self.n - self.nonfinite) as f64;
        let mean_dev = self.s1 / n;
        let m2 = (self.s2 / n - mean_dev * mean_dev).max(0.0);
        let var = if n > 1.0 { m2 * n / (n - 1.0) } else { 0.0 };
        SampleMoments {
            n: self.n,
            mean: self.centre + mean_dev,
            std: var.sqrt(),
            kurtosis: (self.s4 / n) / (m2 * m2),
            min: self.min,
            max: self.max,
            nonfinite: self.nonfinite,
        }
    }
}
