//! DARTS's own text form (`Genotype(normal=[...], ...)`), the compact table form, and the
//! Graphviz drawing of a cell.

use std::fmt::Write as _;

use crate::error::{Result, SpaceError};
use crate::genotype::{CellType, Concat, GenePair, Genotype};
use crate::topology::{state_name, INPUTS, NODES};

impl Genotype {
    /// DARTS's text form, exactly as Python prints the namedtuple.
    pub fn to_darts(&self) -> String {
        fn pairs(p: &[GenePair]) -> String {
            let items: Vec<_> = p.iter().map(|(op, i)| format!("('{op}', {i})")).collect();
            format!("[{}]", items.join(", "))
        }
        fn concat(c: &Concat) -> String {
            match (c.is_range(), c.states()) {
                (true, [first, .., last]) => format!("range({first}, {})", last + 1),
                (true, [only]) => format!("range({only}, {})", only + 1),
                _ => {
                    let items: Vec<_> = c.states().iter().map(|s| s.to_string()).collect();
                    format!("[{}]", items.join(", "))
                }
            }
        }
        format!(
            "Genotype(normal={}, normal_concat={}, reduce={}, reduce_concat={})",
            pairs(&self.normal),
            concat(&self.normal_concat),
            pairs(&self.reduce),
            concat(&self.reduce_concat)
        )
    }

    /// Parses DARTS's text form. Keyword arguments may come in any order; quotes may be single or
    /// double; lists may be written as tuples; concat lists may be `range(a, b)`.
    pub fn from_darts(text: &str) -> Result<Self> {
        let mut p = DartsParser::new(text);
        let g = p.genotype()?;
        p.skip_ws();
        if p.pos < p.src.len() {
            return Err(p.error("unexpected text after the closing `)`"));
        }
        g.validate()?;
        Ok(g)
    }

    /// A Graphviz DOT drawing of one cell (as DARTS's `visualize.py` draws it), edges labelled
    /// with their op and, given each edge's share of the channels (a channel plan), the op's and
    /// the identity's shares.
    pub fn to_dot(&self, cell: CellType, fractions: Option<&[f64]>) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "digraph {cell} {{");
        let _ = writeln!(out, "  rankdir=LR; node [shape=box, style=\"rounded,filled\", fontname=\"DejaVu Sans\"]; edge [fontname=\"DejaVu Sans\", fontsize=11];");
        let _ = writeln!(
            out,
            "  label=\"{cell} cell\"; labelloc=t; fontname=\"DejaVu Sans\";"
        );
        let _ = writeln!(out, "  \"c_{{k-2}}\" [fillcolor=darkseagreen2]; \"c_{{k-1}}\" [fillcolor=darkseagreen2]; \"c_{{k}}\" [fillcolor=palegoldenrod];");
        for node in 0..self.cell(cell).len() / 2 {
            let _ = writeln!(out, "  \"{}\" [fillcolor=lightblue];", node + INPUTS);
        }
        for (i, (op, input)) in self.cell(cell).iter().enumerate() {
            if *op == crate::Primitive::None {
                continue; // a dropped edge of a sparse cell
            }
            let label = match fractions.and_then(|f| f.get(i).copied()) {
                Some(f) if f < 1.0 => format!(
                    "{op}\\n{:.0}% op / {:.0}% identity",
                    100.0 * f,
                    100.0 * (1.0 - f)
                ),
                _ => op.to_string(),
            };
            let style = if *op == crate::Primitive::SkipConnect {
                ", style=dashed"
            } else {
                ""
            };
            let _ = writeln!(
                out,
                "  \"{}\" -> \"{}\" [label=\"{label}\"{style}];",
                state_name(*input),
                i / 2 + INPUTS
            );
        }
        for s in self.concat(cell).states() {
            let _ = writeln!(
                out,
                "  \"{}\" -> \"c_{{k}}\" [color=gray50];",
                state_name(*s)
            );
        }
        out.push_str("}\n");
        out
    }
    /// The compact table: one row per intermediate node, its two ops and their inputs.
    pub fn to_table(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "{:<8}{:<8}{:<14}{:<9}{:<14}input",
            "cell", "node", "op", "input", "op"
        );
        for cell in CellType::BOTH {
            for (node, pair) in self.cell(cell).chunks(2).enumerate() {
                // An odd edge list (a genotype built field by field) prints its last edge alone.
                let (op1, in1) = pair
                    .get(1)
                    .map_or(("-", "-".to_string()), |p| (p.0.name(), state_name(p.1)));
                let _ = writeln!(
                    out,
                    "{:<8}{:<8}{:<14}{:<9}{:<14}{}",
                    cell.name(),
                    node + INPUTS,
                    pair[0].0.name(),
                    state_name(pair[0].1),
                    op1,
                    in1
                );
            }
            let states: Vec<_> = self
                .concat(cell)
                .states()
                .iter()
                .map(|s| s.to_string())
                .collect();
            let _ = writeln!(out, "{:<8}{:<8}{}", cell.name(), "concat", states.join(" "));
        }
        out
    }

    /// Parses the table form that [`Genotype::to_table`] prints.
    pub fn from_table(text: &str) -> Result<Self> {
        let err = |line: usize, reason: String| SpaceError::Parse {
            format: "table",
            reason: format!("line {line}: {reason}"),
        };
        let mut cells: [(Vec<GenePair>, Option<Concat>); 2] = Default::default();
        let mut lines = text
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty());
        match lines.next() {
            Some((_, header)) if header.split_whitespace().next() == Some("cell") => {}
            _ => {
                return Err(err(
                    1,
                    "expected the header line `cell node op input op input`".into(),
                ))
            }
        }
        for (i, line) in lines {
            let n = i + 1;
            let words: Vec<_> = line.split_whitespace().collect();
            let cell = match words[0] {
                "normal" => 0,
                "reduce" => 1,
                other => {
                    return Err(err(
                        n,
                        format!("expected `normal` or `reduce`, found `{other}`"),
                    ))
                }
            };
            let (pairs, concat) = &mut cells[cell];
            if words.get(1) == Some(&"concat") {
                let states = words[2..]
                    .iter()
                    .map(|w| {
                        w.parse::<usize>()
                            .map_err(|_| err(n, format!("concat state `{w}` is not a number")))
                    })
                    .collect::<Result<Vec<_>>>()?;
                *concat = Some(Concat::list(states));
                continue;
            }
            if words.len() != 6 {
                return Err(err(
                    n,
                    format!(
                        "expected 6 columns (cell node op input op input), found {}",
                        words.len()
                    ),
                ));
            }
            let expected = pairs.len() / 2 + INPUTS;
            if words[1] != expected.to_string() {
                return Err(err(
                    n,
                    format!("expected node {expected}, found `{}`", words[1]),
                ));
            }
            for k in [2, 4] {
                let op = words[k].parse().map_err(|e| err(n, format!("{e}")))?;
                let input = parse_state(words[k + 1]).ok_or_else(|| {
                    err(
                        n,
                        format!(
                            "input `{}` is not c_{{k-2}}, c_{{k-1}} or a node number",
                            words[k + 1]
                        ),
                    )
                })?;
                pairs.push((op, input));
            }
        }
        let [(normal, normal_concat), (reduce, reduce_concat)] = cells;
        let missing = |cell: &str| err(0, format!("no `{cell} concat` line"));
        Genotype::new(
            normal,
            normal_concat.ok_or_else(|| missing("normal"))?,
            reduce,
            reduce_concat.ok_or_else(|| missing("reduce"))?,
        )
    }
}

fn parse_state(word: &str) -> Option<usize> {
    match word {
        "c_{k-2}" => Some(0),
        "c_{k-1}" => Some(1),
        w => w
            .parse()
            .ok()
            .filter(|&s| (INPUTS..INPUTS + NODES).contains(&s)),
    }
}

/// A small recursive-descent parser for the Python literal DARTS prints.
struct DartsParser<'a> {
    src: &'a [u8],
    pos: usize,
}

impl<'a> DartsParser<'a> {
    fn new(text: &'a str) -> Self {
        Self {
            src: text.as_bytes(),
            pos: 0,
        }
    }

    fn error(&self, reason: impl std::fmt::Display) -> SpaceError {
        let found = match self.src.get(self.pos) {
            Some(_) => {
                let rest = String::from_utf8_lossy(&self.src[self.pos..]);
                format!("`{}`", rest.chars().take(16).collect::<String>())
            }
            None => "the end of the text".into(),
        };
        SpaceError::Parse {
            format: "darts",
            reason: format!("at character {}: {reason}, found {found}", self.pos + 1),
        }
    }

    fn skip_ws(&mut self) {
        while self
            .src
            .get(self.pos)
            .is_some_and(|c| c.is_ascii_whitespace())
        {
            self.pos += 1;
        }
    }

    fn peek(&mut self) -> Option<u8> {
        self.skip_ws();
        self.src.get(self.pos).copied()
    }

    fn eat(&mut self, c: u8) -> bool {
        if self.peek() == Some(c) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn expect(&mut self, c: u8) -> Result<()> {
        if self.eat(c) {
            Ok(())
        } else {
            Err(self.error(format_args!("expected `{}`", c as char)))
        }
    }

    fn ident(&mut self) -> Result<&'a str> {
        self.skip_ws();
        let start = self.pos;
        while self
            .src
            .get(self.pos)
            .is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'_' || *c == b'.')
        {
            self.pos += 1;
        }
        if start == self.pos {
            return Err(self.error("expected a name"));
        }
        Ok(std::str::from_utf8(&self.src[start..self.pos]).unwrap_or_default())
    }

    fn int(&mut self) -> Result<usize> {
        self.skip_ws();
        let start = self.pos;
        while self.src.get(self.pos).is_some_and(u8::is_ascii_digit) {
            self.pos += 1;
        }
        std::str::from_utf8(&self.src[start..self.pos])
            .ok()
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| {
                self.pos = start;
                self.error("expected a non-negative integer")
            })
    }

    fn string(&mut self) -> Result<&'a str> {
        let quote = match self.peek() {
            Some(q @ (b'\'' | b'"')) => q,
            _ => return Err(self.error("expected a quoted op name")),
        };
        self.pos += 1;
        let start = self.pos;
        while self.src.get(self.pos).is_some_and(|&c| c != quote) {
            self.pos += 1;
        }
        if self.pos >= self.src.len() {
            return Err(self.error("unterminated string"));
        }
        let s = std::str::from_utf8(&self.src[start..self.pos]).unwrap_or_default();
        self.pos += 1;
        Ok(s)
    }

    /// `[item, item, ...]` or `(item, ...)`, trailing comma allowed.
    fn sequence<T>(&mut self, mut item: impl FnMut(&mut Self) -> Result<T>) -> Result<Vec<T>> {
        let close = match self.peek() {
            Some(b'[') => b']',
            Some(b'(') => b')',
            _ => return Err(self.error("expected `[` or `(`")),
        };
        self.pos += 1;
        let mut items = Vec::new();
        loop {
            if self.eat(close) {
                return Ok(items);
            }
            items.push(item(self)?);
            if !self.eat(b',') {
                self.expect(close)?;
                return Ok(items);
            }
        }
    }

    fn pair(&mut self) -> Result<GenePair> {
        self.expect(b'(')?;
        let at = self.pos;
        let name = self.string()?;
        let op = name.parse().map_err(|e| {
            self.pos = at;
            self.error(e)
        })?;
        self.expect(b',')?;
        let input = self.int()?;
        self.eat(b',');
        self.expect(b')')?;
        Ok((op, input))
    }

    fn concat(&mut self) -> Result<Concat> {
        if self.peek().is_some_and(|c| c.is_ascii_alphabetic()) {
            let at = self.pos;
            if self.ident()? != "range" {
                self.pos = at;
                return Err(self.error("expected a list or `range(start, end)`"));
            }
            self.expect(b'(')?;
            let start = self.int()?;
            self.expect(b',')?;
            let end = self.int()?;
            self.expect(b')')?;
            if end <= start {
                return Err(self.error(format_args!("range({start}, {end}) is empty")));
            }
            return Ok(Concat::range(start, end));
        }
        self.sequence(Self::int).map(Concat::list)
    }

    fn genotype(&mut self) -> Result<Genotype> {
        let name = self.ident()?;
        if name.rsplit('.').next() != Some("Genotype") {
            self.pos = 0;
            return Err(self.error("expected `Genotype(`"));
        }
        self.expect(b'(')?;
        let (mut normal, mut normal_concat, mut reduce, mut reduce_concat) =
            (None, None, None, None);
        loop {
            if self.eat(b')') {
                break;
            }
            let at = self.pos;
            let key = self.ident()?;
            self.expect(b'=')?;
            let duplicate = match key {
                "normal" => normal.replace(self.sequence(Self::pair)?).is_some(),
                "reduce" => reduce.replace(self.sequence(Self::pair)?).is_some(),
                "normal_concat" => normal_concat.replace(self.concat()?).is_some(),
                "reduce_concat" => reduce_concat.replace(self.concat()?).is_some(),
                _ => {
                    self.pos = at;
                    return Err(self.error(
                        "expected one of normal=, normal_concat=, reduce=, reduce_concat=",
                    ));
                }
            };
            if duplicate {
                self.pos = at;
                return Err(self.error(format_args!("`{key}` is given twice")));
            }
            if !self.eat(b',') {
                self.expect(b')')?;
                break;
            }
        }
        let missing = |key: &str| SpaceError::Parse {
            format: "darts",
            reason: format!("`{key}=` is missing"),
        };
        Ok(Genotype {
            normal: normal.ok_or_else(|| missing("normal"))?,
            normal_concat: normal_concat.ok_or_else(|| missing("normal_concat"))?,
            reduce: reduce.ok_or_else(|| missing("reduce"))?,
            reduce_concat: reduce_concat.ok_or_else(|| missing("reduce_concat"))?,
        })
    }
}
