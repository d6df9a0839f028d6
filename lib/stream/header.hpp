// The embedding-stream header and the batch of records every reader yields and every writer takes.
// Format: man/dcar-format.5. A header says what the vectors are (dimension, element type, modality, whether
// rows are L2-normalised, which model made them) and who touched them (provenance, one entry per tool).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace dcar::stream {

enum class ElementType { f32, f16 };
enum class Modality { image, text, unknown };

const char* to_string(ElementType t);
const char* to_string(Modality m);
ElementType parse_element_type(const std::string& s);  // "f32" | "f16"; throws dcar::Error(usage)
Modality parse_modality(const std::string& s);         // "image" | "text" | "unknown"; throws dcar::Error(usage)
size_t element_size(ElementType t);

struct Provenance {
    std::string tool;     // "dcar-index"
    std::string version;  // "0.1.0 (commit abc1234)"
    std::string args;     // the command line, shell-quoted
};

struct Header {
    uint32_t dim = 0;
    ElementType dtype = ElementType::f32;
    Modality modality = Modality::unknown;
    bool normalized = false;
    std::string model;  // model fingerprint; empty = unknown (e.g. vectors from .npy)
    std::vector<Provenance> provenance;

    std::string to_json() const;
    // Throws dcar::Error(format) naming `place` when the JSON is not a valid header.
    static Header from_json(const std::string& json, const std::string& place);
};

// Why records under `b` cannot join records under `a` (dimension, modality or model differ), or "" when they
// can. An unknown modality or model on either side matches anything.
std::string incompatibility(const Header& a, const Header& b);

// Fills what `into` does not know (model, modality) from `from`, so that a stream whose first part came from
// .npy still refuses a later part from a different model.
void adopt_known_fields(Header& into, const Header& from);

// Records in memory: n rows of `dim` float32 values, row-major, with an id and an optional label ("" = none).
struct Batch {
    uint32_t dim = 0;
    std::vector<std::string> ids;
    std::vector<std::string> labels;
    std::vector<float> vectors;  // size() × dim

    size_t size() const { return ids.size(); }
    bool empty() const { return ids.empty(); }
    const float* row(size_t i) const { return vectors.data() + i * dim; }
    void clear();
    void add(std::string id, std::string label, const float* vector);
    void append(const Batch& other);
};

// Scales each row to unit L2 norm (rows of zeros stay zero).
void normalize_rows(float* rows, size_t n, uint32_t dim);

}  // namespace dcar::stream
