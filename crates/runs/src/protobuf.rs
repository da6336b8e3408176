//! The few pieces of the protobuf wire format that TensorBoard's files need, written by hand:
//! the event files (`tensorboard`) and the HParams plugin's messages (`mnist-experiments`) share
//! them instead of a protobuf code generator and its build step.

/// Wire type of varints (integers, enums, bools).
pub const VARINT: u8 = 0;
/// Wire type of 8-byte fields (double, fixed64).
pub const FIXED64: u8 = 1;
/// Wire type of length-delimited fields (strings, bytes, messages).
pub const LEN: u8 = 2;
/// Wire type of 4-byte fields (float, fixed32).
pub const FIXED32: u8 = 5;

/// Appends `v` as a base-128 varint.
pub fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// Appends the key of field `field` with wire type `wire`.
pub fn put_key(out: &mut Vec<u8>, field: u32, wire: u8) {
    put_varint(out, (u64::from(field) << 3) | u64::from(wire));
}

/// Appends a varint field.
pub fn put_varint_field(out: &mut Vec<u8>, field: u32, v: u64) {
    put_key(out, field, VARINT);
    put_varint(out, v);
}

/// Appends a `double` field.
pub fn put_double(out: &mut Vec<u8>, field: u32, x: f64) {
    put_key(out, field, FIXED64);
    out.extend_from_slice(&x.to_le_bytes());
}

/// Appends a `float` field.
pub fn put_float(out: &mut Vec<u8>, field: u32, x: f32) {
    put_key(out, field, FIXED32);
    out.extend_from_slice(&x.to_le_bytes());
}

/// Appends a length-delimited field (a string, bytes or an encoded message).
pub fn put_bytes(out: &mut Vec<u8>, field: u32, bytes: &[u8]) {
    put_key(out, field, LEN);
    put_varint(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}
