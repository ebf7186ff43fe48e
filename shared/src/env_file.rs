//! The local settings file (`local.env`): `KEY=VALUE` lines in the dotenv
//! form cargo-lambda also reads. Quoted values lose their quotes; single
//! quotes keep `{{…}}` and `&` literal for it.

use std::path::Path;

/// The file's pairs in order; a line that is not `KEY=VALUE` is an error.
pub fn read(path: &Path) -> Result<Vec<(String, String)>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    text.lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .map(|line| {
            let (key, value) = line
                .split_once('=')
                .ok_or_else(|| format!("{}: not KEY=VALUE: {line}", path.display()))?;
            Ok((key.trim().to_string(), unquote(value.trim()).to_string()))
        })
        .collect()
}

fn unquote(value: &str) -> &str {
    ['\'', '"']
        .iter()
        .find_map(|q| value.strip_prefix(*q).and_then(|v| v.strip_suffix(*q)))
        .unwrap_or(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_are_removed_and_comments_skipped() {
        let path =
            std::env::temp_dir().join(format!("env-file-{}.env", crate::domain::random_hex(4)));
        std::fs::write(&path, "# comment\nA=1\nB='x={{.Code}}&y'\nC=\"z\"\n").unwrap();
        let pairs = read(&path).unwrap();
        std::fs::remove_file(&path).unwrap();
        assert_eq!(
            pairs,
            [
                ("A".into(), "1".into()),
                ("B".into(), "x={{.Code}}&y".into()),
                ("C".into(), "z".into())
            ]
        );
    }
}
