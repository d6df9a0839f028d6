// Helpers shared by the unit tests: temporary directories, random batches, streams in memory.
#pragma once
#include <cstdlib>
#include <random>
#include <string>
#include <unistd.h>

#include "stream/embeddings.hpp"

namespace dcar::test {

// Tests on the released FDRD caption files and the Caltech images run only when $DCAR_TEST_DATA names a
// directory holding data/fdrd and data/caltech101; otherwise they skip and say so ("" here).
inline std::string test_data_dir() {
    const char* dir = std::getenv("DCAR_TEST_DATA");
    return dir && *dir ? std::string(dir) : std::string();
}
constexpr const char* no_test_data = "DCAR_TEST_DATA is not set (a directory with data/fdrd and data/caltech101)";

// A fresh directory under $TMPDIR, removed with its contents at destruction.
class TempDir {
public:
    TempDir() {
        const char* base = std::getenv("TMPDIR");
        std::string templ = std::string(base && *base ? base : "/tmp") + "/dcar-test.XXXXXX";
        path_ = ::mkdtemp(templ.data()) ? templ : "";
    }
    ~TempDir() {
        if (!path_.empty()) std::system(("rm -rf '" + path_ + "'").c_str());
    }
    std::string file(const std::string& name) const { return path_ + "/" + name; }
    const std::string& path() const { return path_; }

private:
    std::string path_;
};

inline stream::Batch random_batch(size_t n, uint32_t dim, uint64_t seed, const std::string& prefix = "r") {
    std::mt19937_64 rng(seed);
    std::normal_distribution<float> normal;
    stream::Batch b;
    b.dim = dim;
    std::vector<float> row(dim);
    for (size_t i = 0; i < n; ++i) {
        for (auto& v : row) v = normal(rng);
        b.add(prefix + std::to_string(i), i % 3 ? "class" + std::to_string(i % 5) : "", row.data());
    }
    return b;
}

inline stream::Header header_for(uint32_t dim, stream::ElementType dtype = stream::ElementType::f32) {
    stream::Header h;
    h.dim = dim;
    h.dtype = dtype;
    h.modality = stream::Modality::image;
    h.model = "test-model";
    h.provenance.push_back({"test", "0", "unit test"});
    return h;
}

// Writes `batch` as a stream into a string, in frames of `per_write` rows.
inline std::string stream_bytes(const stream::Batch& batch, const stream::Header& header, size_t per_write = 1000) {
    std::string bytes;
    auto writer = stream::open_writer(io::string_sink(bytes), header);
    for (size_t start = 0; start < batch.size(); start += per_write) {
        stream::Batch part;
        part.dim = batch.dim;
        for (size_t i = start; i < std::min(batch.size(), start + per_write); ++i) part.add(batch.ids[i], batch.labels[i], batch.row(i));
        writer->write(part);
    }
    writer->finish();
    return bytes;
}

inline stream::Batch read_bytes(const std::string& bytes, stream::Header* header = nullptr) {
    auto reader = stream::open_embeddings(io::memory_source(bytes.data(), bytes.size(), "mem"));
    if (header) *header = reader->header();
    return stream::read_all(*reader);
}

}  // namespace dcar::test
