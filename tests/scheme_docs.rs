//! The scheme tables of `docs/SCHEMES.md` and the README are rendered from
//! the scheme table in `src/scheme/table.rs`
//! (`weight_init::scheme::scheme_tables_markdown`): this test fails when a
//! file differs, and `UPDATE_DOCS=1 cargo test --test scheme_docs` rewrites
//! the tables in place (the prose around them is left alone).

use std::path::Path;

const BEGIN: &str =
    "<!-- Generated from src/scheme/table.rs: UPDATE_DOCS=1 cargo test --test scheme_docs -->\n";
const END: &str = "<!-- End of the generated scheme tables -->\n";

/// The file's text with its generated block replaced by `tables`, or why
/// the markers are not there.
fn with_tables(text: &str, tables: &str) -> Result<String, String> {
    let start = text
        .find(BEGIN)
        .ok_or_else(|| format!("no line `{}`", BEGIN.trim_end()))?
        + BEGIN.len();
    let end = text[start..]
        .find(END)
        .ok_or_else(|| format!("no line `{}` after the first marker", END.trim_end()))?
        + start;
    Ok(format!("{}{tables}{}", &text[..start], &text[end..]))
}

fn check(file: &str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(file);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{file}: {e}"));
    let tables = weight_init::scheme::scheme_tables_markdown();
    let wanted = with_tables(&text, &tables).unwrap_or_else(|e| panic!("{file}: {e}"));
    if wanted == text {
        return;
    }
    if std::env::var_os("UPDATE_DOCS").is_some() {
        std::fs::write(&path, wanted).unwrap_or_else(|e| panic!("{file}: {e}"));
        return;
    }
    let (old, new): (Vec<&str>, Vec<&str>) = (text.lines().collect(), wanted.lines().collect());
    let line = old
        .iter()
        .zip(&new)
        .position(|(a, b)| a != b)
        .unwrap_or(old.len().min(new.len()));
    panic!(
        "{file}'s scheme tables differ from the scheme table (src/scheme/table.rs), \
         first at line {}:\n  file:     {}\n  rendered: {}\n\
         regenerate with: UPDATE_DOCS=1 cargo test --test scheme_docs",
        line + 1,
        old.get(line).unwrap_or(&"(end of file)"),
        new.get(line).unwrap_or(&"(end of file)"),
    );
}

#[test]
fn schemes_md_tables_are_rendered_from_the_scheme_table() {
    check("docs/SCHEMES.md");
}

#[test]
fn readme_tables_are_rendered_from_the_scheme_table() {
    check("README.md");
}

#[test]
fn a_stale_table_is_caught() {
    let tables = weight_init::scheme::scheme_tables_markdown();
    let file = format!("prose\n{BEGIN}{tables}{END}more prose\n");
    assert_eq!(with_tables(&file, &tables).unwrap(), file);
    let stale = file.replace("`uniform(low=0, high=1)`", "`uniform(low=0, high=2)`");
    assert_ne!(with_tables(&stale, &tables).unwrap(), stale);
    assert!(with_tables("no markers", &tables).is_err());
}
