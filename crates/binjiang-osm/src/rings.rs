//! Multipolygon relations: member ways joined end to end into closed rings, outers with
//! their holes.

/// A ring as a list of node ids, first == last.
pub type Ring = Vec<i64>;

/// Joins way node lists into closed rings; pieces that never close are returned apart.
pub fn join(mut pieces: Vec<Vec<i64>>) -> (Vec<Ring>, usize) {
    let mut rings = Vec::new();
    let mut open = 0;
    pieces.retain(|p| p.len() >= 2);
    while let Some(mut ring) = pieces.pop() {
        loop {
            if ring.len() >= 4 && ring.first() == ring.last() {
                rings.push(ring);
                break;
            }
            let end = *ring.last().unwrap_or(&0);
            let next = pieces
                .iter()
                .position(|p| p.first() == Some(&end) || p.last() == Some(&end));
            let Some(i) = next else {
                open += 1;
                break;
            };
            let mut piece = pieces.swap_remove(i);
            if piece.first() != Some(&end) {
                piece.reverse();
            }
            ring.extend_from_slice(&piece[1..]);
        }
    }
    (rings, open)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn joins_pieces_in_any_direction() {
        let (rings, open) = join(vec![
            vec![1, 2, 3],
            vec![5, 4, 3],
            vec![5, 6, 1],
            vec![7, 8],
        ]);
        assert_eq!(open, 1);
        assert_eq!(rings.len(), 1);
        let r = &rings[0];
        assert_eq!(r.first(), r.last());
        assert_eq!(r.len(), 7);
    }
}
