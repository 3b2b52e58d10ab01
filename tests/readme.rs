//! The README carries the scheme table of `docs/SCHEMES.md` verbatim, so the
//! two cannot drift apart.

#[test]
fn readme_carries_the_scheme_table() {
    let readme = include_str!("../README.md");
    let table = include_str!("../docs/SCHEMES.md");
    assert!(
        readme.contains(table.trim_end()),
        "README.md must contain docs/SCHEMES.md verbatim; copy it over after editing"
    );
}
