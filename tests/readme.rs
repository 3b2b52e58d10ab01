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

/// The README's library section and the crate's front page (`src/lib.rs`
/// includes `docs/LIBRARY.md`) show the same text and examples.
#[test]
fn readme_carries_the_library_section() {
    let readme = include_str!("../README.md");
    let library = include_str!("../docs/LIBRARY.md");
    assert!(
        readme.contains(library.trim_end()),
        "README.md must contain docs/LIBRARY.md verbatim under `## Library`; copy it over after editing"
    );
    let lib_rs = include_str!("../src/lib.rs");
    assert!(
        lib_rs.contains(r#"doc = include_str!("../docs/LIBRARY.md")"#),
        "src/lib.rs must show docs/LIBRARY.md on the crate's front page"
    );
}
