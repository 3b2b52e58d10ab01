//! `weight-init init` tests (placeholder).
