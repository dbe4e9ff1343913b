//! Finds ONNX tensors whose values live outside the model file ("external data"), by walking
//! the protobuf wire format of `ModelProto` before ONNX Runtime sees the bytes. ONNX Runtime
//! resolves a relative external-data location against the working directory, so an uploaded
//! model that names one could read the server's files; uploads with any external data are
//! refused.
//!
//! Hand-written because it must agree field for field with the schema ONNX Runtime parses:
//! onnx/onnx.proto (IR version 10). Every message that can hold a `TensorProto` is followed:
//! graphs (initializers, sparse initializers, node attributes and their subgraphs), functions
//! and training-info graphs. A tensor is external when it sets `data_location = EXTERNAL` or
//! has `external_data` entries.

/// Field numbers of onnx.proto that lead to tensors.
mod field {
    pub const MODEL_GRAPH: u64 = 7;
    pub const MODEL_TRAINING_INFO: u64 = 20;
    pub const MODEL_FUNCTIONS: u64 = 25;
    pub const TRAINING_INITIALIZATION: u64 = 1;
    pub const TRAINING_ALGORITHM: u64 = 2;
    pub const GRAPH_NODE: u64 = 1;
    pub const GRAPH_INITIALIZER: u64 = 5;
    pub const GRAPH_SPARSE_INITIALIZER: u64 = 15;
    pub const FUNCTION_NODE: u64 = 7;
    pub const NODE_ATTRIBUTE: u64 = 5;
    pub const ATTRIBUTE_T: u64 = 5;
    pub const ATTRIBUTE_G: u64 = 6;
    pub const ATTRIBUTE_TENSORS: u64 = 10;
    pub const ATTRIBUTE_GRAPHS: u64 = 11;
    pub const ATTRIBUTE_SPARSE_TENSOR: u64 = 22;
    pub const ATTRIBUTE_SPARSE_TENSORS: u64 = 23;
    pub const SPARSE_VALUES: u64 = 1;
    pub const SPARSE_INDICES: u64 = 2;
    pub const TENSOR_NAME: u64 = 8;
    pub const TENSOR_EXTERNAL_DATA: u64 = 13;
    pub const TENSOR_DATA_LOCATION: u64 = 14;
}

/// Subgraphs nest; a model nested deeper than this is refused rather than walked.
const MAX_DEPTH: usize = 64;

#[derive(Clone, Copy)]
enum Message {
    Model,
    TrainingInfo,
    Graph,
    Function,
    Node,
    Attribute,
    SparseTensor,
    Tensor,
}

/// `Ok(Some(tensor name))` for the first tensor with external data, `Ok(None)` when there is
/// none, `Err` when the bytes are not a well-formed protobuf message.
pub fn find_external_tensor(model: &[u8]) -> Result<Option<String>, String> {
    walk(model, Message::Model, 0)
}

fn walk(bytes: &[u8], message: Message, depth: usize) -> Result<Option<String>, String> {
    use Message::*;
    use field::*;
    if depth > MAX_DEPTH {
        return Err(format!("subgraphs nested more than {MAX_DEPTH} deep"));
    }
    let mut name = String::new();
    let mut external = false;
    let mut rest = bytes;
    while !rest.is_empty() {
        let key = varint(&mut rest)?;
        let (number, wire) = (key >> 3, key & 7);
        let value = match wire {
            0 => Value::Varint(varint(&mut rest)?),
            1 => Value::Fixed(take(&mut rest, 8)?),
            2 => {
                let len = usize::try_from(varint(&mut rest)?).map_err(|_| "a length overflows".to_string())?;
                Value::Bytes(take(&mut rest, len)?)
            }
            5 => Value::Fixed(take(&mut rest, 4)?),
            other => return Err(format!("unsupported protobuf wire type {other} (field {number})")),
        };
        let child = match (message, number) {
            (Model, MODEL_GRAPH) => Some(Graph),
            (Model, MODEL_TRAINING_INFO) => Some(TrainingInfo),
            (Model, MODEL_FUNCTIONS) => Some(Function),
            (TrainingInfo, TRAINING_INITIALIZATION | TRAINING_ALGORITHM) => Some(Graph),
            (Graph, GRAPH_NODE) | (Function, FUNCTION_NODE) => Some(Node),
            (Graph, GRAPH_INITIALIZER) => Some(Tensor),
            (Graph, GRAPH_SPARSE_INITIALIZER) => Some(SparseTensor),
            (Node, NODE_ATTRIBUTE) => Some(Attribute),
            (Attribute, ATTRIBUTE_T | ATTRIBUTE_TENSORS) => Some(Tensor),
            (Attribute, ATTRIBUTE_G | ATTRIBUTE_GRAPHS) => Some(Graph),
            (Attribute, ATTRIBUTE_SPARSE_TENSOR | ATTRIBUTE_SPARSE_TENSORS) => Some(SparseTensor),
            (SparseTensor, SPARSE_VALUES | SPARSE_INDICES) => Some(Tensor),
            (Tensor, TENSOR_EXTERNAL_DATA) => {
                external = true;
                None
            }
            (Tensor, TENSOR_DATA_LOCATION) => {
                external |= matches!(value, Value::Varint(v) if v != 0);
                None
            }
            (Tensor, TENSOR_NAME) => {
                if let Value::Bytes(b) = value {
                    name = String::from_utf8_lossy(b).into_owned();
                }
                None
            }
            _ => None,
        };
        if let (Some(child), Value::Bytes(inner)) = (child, value)
            && let Some(found) = walk(inner, child, depth + 1)?
        {
            return Ok(Some(found));
        }
    }
    Ok(external.then(|| if name.is_empty() { "(unnamed)".to_string() } else { name }))
}

enum Value<'a> {
    Varint(u64),
    Fixed(#[allow(dead_code)] &'a [u8]),
    Bytes(&'a [u8]),
}

fn take<'a>(rest: &mut &'a [u8], n: usize) -> Result<&'a [u8], String> {
    if rest.len() < n {
        return Err("the file ends inside a field (truncated model?)".into());
    }
    let (head, tail) = rest.split_at(n);
    *rest = tail;
    Ok(head)
}

fn varint(rest: &mut &[u8]) -> Result<u64, String> {
    let mut value = 0u64;
    for shift in (0..64).step_by(7) {
        let (&byte, tail) = rest.split_first().ok_or("the file ends inside a number (truncated model?)")?;
        *rest = tail;
        value |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return Ok(value);
        }
    }
    Err("a number is longer than 10 bytes".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(number: u64, wire: u64) -> Vec<u8> {
        encode(number << 3 | wire)
    }
    fn encode(mut v: u64) -> Vec<u8> {
        let mut out = Vec::new();
        loop {
            let byte = (v & 0x7f) as u8;
            v >>= 7;
            if v == 0 {
                out.push(byte);
                return out;
            }
            out.push(byte | 0x80);
        }
    }
    fn message(number: u64, body: &[u8]) -> Vec<u8> {
        let mut out = key(number, 2);
        out.extend(encode(body.len() as u64));
        out.extend_from_slice(body);
        out
    }
    fn tensor(name: &str, location: u64) -> Vec<u8> {
        let mut t = message(field::TENSOR_NAME, name.as_bytes());
        t.extend(key(field::TENSOR_DATA_LOCATION, 0));
        t.extend(encode(location));
        t
    }
    fn model(graph: &[u8]) -> Vec<u8> {
        let mut m = key(1, 0);
        m.extend(encode(10)); // ir_version
        m.extend(message(field::MODEL_GRAPH, graph));
        m
    }

    #[test]
    fn inline_initializers_pass_and_external_ones_are_found() {
        let inline = model(&message(field::GRAPH_INITIALIZER, &tensor("w", 0)));
        assert_eq!(find_external_tensor(&inline), Ok(None));
        let external = model(&message(field::GRAPH_INITIALIZER, &tensor("w", 1)));
        assert_eq!(find_external_tensor(&external), Ok(Some("w".into())));
        let entries = {
            let mut t = message(field::TENSOR_NAME, b"v");
            t.extend(message(field::TENSOR_EXTERNAL_DATA, &message(1, b"location")));
            model(&message(field::GRAPH_INITIALIZER, &t))
        };
        assert_eq!(find_external_tensor(&entries), Ok(Some("v".into())));
    }

    #[test]
    fn tensors_inside_node_attributes_subgraphs_and_sparse_tensors_are_found() {
        // Graph -> node -> attribute g -> graph -> node -> attribute t (Constant value).
        let inner_node = message(field::NODE_ATTRIBUTE, &message(field::ATTRIBUTE_T, &tensor("c", 1)));
        let subgraph = message(field::GRAPH_NODE, &inner_node);
        let outer_node = message(field::NODE_ATTRIBUTE, &message(field::ATTRIBUTE_G, &subgraph));
        let m = model(&message(field::GRAPH_NODE, &outer_node));
        assert_eq!(find_external_tensor(&m), Ok(Some("c".into())));
        let sparse = message(field::SPARSE_VALUES, &tensor("s", 1));
        let m = model(&message(field::GRAPH_SPARSE_INITIALIZER, &sparse));
        assert_eq!(find_external_tensor(&m), Ok(Some("s".into())));
    }

    #[test]
    fn truncated_or_malformed_bytes_are_errors() {
        let mut m = model(&message(field::GRAPH_INITIALIZER, &tensor("w", 0)));
        m.truncate(m.len() - 1);
        assert!(find_external_tensor(&m).is_err());
        assert!(find_external_tensor(&[0x0b]).is_err(), "wire type 3 (groups) is refused");
    }

    #[test]
    fn the_shipped_example_models_have_no_external_data() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples");
        let mut seen = 0;
        for entry in std::fs::read_dir(&dir).expect("examples/") {
            let path = entry.expect("entry").path();
            if path.extension().is_some_and(|e| e == "onnx") {
                let bytes = std::fs::read(&path).expect("read");
                assert_eq!(find_external_tensor(&bytes), Ok(None), "{}", path.display());
                seen += 1;
            }
        }
        assert!(seen > 0, "no example models in {}", dir.display());
    }
}
