//! Masking of personal numbers for roles that do not need them in full.

/// `13812345678` → `138****5678`; landline `0351-1234567` → `0351-***4567`.
pub fn mask_phone(p: &str) -> String {
    if let Some((area, num)) = p.split_once('-') {
        let keep = num.len().saturating_sub(4);
        return format!("{area}-{}{}", "*".repeat(keep.min(4)), &num[keep..]);
    }
    if p.len() >= 8 && p.is_ascii() {
        format!("{}****{}", &p[..3], &p[p.len() - 4..])
    } else {
        "****".to_string()
    }
}

/// `110101199003071234` → `110***********1234`.
pub fn mask_id_card(id: &str) -> String {
    if id.len() == 18 && id.is_ascii() {
        format!("{}{}{}", &id[..3], "*".repeat(11), &id[14..])
    } else {
        "*".repeat(18)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_keep_only_the_edges() {
        assert_eq!(mask_phone("13812345678"), "138****5678");
        assert_eq!(mask_phone("0351-1234567"), "0351-***4567");
        assert_eq!(mask_id_card("11010119900307123X"), "110***********123X");
        assert_eq!(mask_id_card("short"), "******************");
    }
}
