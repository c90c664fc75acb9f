//! How commands print: `--json` gives one JSON document on stdout for
//! scripts; otherwise short aligned text for people.

use serde_json::Value;

/// The text-or-JSON choice `--json` makes, applied the same way by every
/// command.
#[derive(Debug, Clone, Copy)]
pub struct Output {
    pub json: bool,
}

impl Output {
    /// With `--json`, prints `json()` as one pretty JSON document on stdout;
    /// otherwise runs `text`, which prints for people.
    pub fn show(self, json: impl FnOnce() -> Value, text: impl FnOnce()) -> anyhow::Result<()> {
        if self.json {
            println!("{}", serde_json::to_string_pretty(&json())?);
        } else {
            text();
        }
        Ok(())
    }

    /// As [`Output::show`], except that with `--plain` only `secret` (a raw
    /// token or code) and a newline are printed, for scripts that store it.
    pub fn show_secret(
        self,
        plain: bool,
        secret: &str,
        json: impl FnOnce() -> Value,
        text: impl FnOnce(),
    ) -> anyhow::Result<()> {
        if plain {
            println!("{secret}");
            Ok(())
        } else {
            self.show(json, text)
        }
    }

    /// Prints `json()` with `--json`, else rows as a table.
    pub fn list(
        self,
        json: impl FnOnce() -> Value,
        headers: &[&str],
        rows: impl FnOnce() -> Vec<Vec<String>>,
    ) -> anyhow::Result<()> {
        self.show(json, || table(headers, rows()))
    }
}

/// Prints rows as left-aligned columns.
pub fn table(headers: &[&str], rows: Vec<Vec<String>>) {
    print!("{}", render_table(headers, rows));
}

/// Rows as left-aligned columns under a header line; every line, the last
/// one included, ends with a newline.
fn render_table(headers: &[&str], rows: Vec<Vec<String>>) -> String {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.len()).collect();
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut text = String::new();
    let mut line = |cells: Vec<String>| {
        let padded: Vec<String> = cells
            .iter()
            .zip(&widths)
            .map(|(cell, width)| format!("{cell:<width$}"))
            .collect();
        text.push_str(padded.join("  ").trim_end());
        text.push('\n');
    };
    line(headers.iter().map(|h| h.to_string()).collect());
    if rows.is_empty() {
        line(vec!["(none)".to_owned()]);
    }
    for row in rows {
        line(row);
    }
    text
}

/// Collapses an error chain into one line.
pub fn one_line(error: &anyhow::Error) -> String {
    error
        .chain()
        .map(|cause| cause.to_string())
        .collect::<Vec<_>>()
        .join(": ")
        .replace('\n', " ")
}

#[cfg(test)]
mod tests {
    use super::render_table;

    #[test]
    fn tables_align_columns_and_end_with_a_newline() {
        let text = render_table(
            &["ID", "NAME"],
            vec![
                vec!["usr_1".into(), "Ada".into()],
                vec!["usr_22".into(), "".into()],
            ],
        );
        assert_eq!(text, "ID      NAME\nusr_1   Ada\nusr_22\n");
    }

    #[test]
    fn an_empty_table_says_none_and_ends_with_a_newline() {
        assert_eq!(render_table(&["ID", "NAME"], vec![]), "ID  NAME\n(none)\n");
    }
}
