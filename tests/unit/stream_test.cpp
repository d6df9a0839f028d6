// The embedding stream: round trips, concatenation, header mismatches, and corrupt or truncated input that
// must fail with an error naming the input and a byte offset — never a crash, never a short read.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <zstd.h>

#include <cstring>

#include "core/error.hpp"
#include "core/half.hpp"
#include "stream/writer.hpp"
#include "test_util.hpp"

using namespace dcar;
using ::testing::HasSubstr;

namespace {

// The error a reader raises on these bytes, or "" if it reads them.
std::string read_error(const std::string& bytes, ErrorCode* code = nullptr) {
    try {
        test::read_bytes(bytes);
    } catch (const Error& e) {
        if (code) *code = e.code();
        return e.what();
    }
    return "";
}

}  // namespace

TEST(Stream, RoundTripKeepsIdsLabelsVectorsAndHeader) {
    const auto batch = test::random_batch(2500, 48, 1);
    stream::Header header;
    const auto back = test::read_bytes(test::stream_bytes(batch, test::header_for(48), 700), &header);
    EXPECT_EQ(back.ids, batch.ids);
    EXPECT_EQ(back.labels, batch.labels);
    EXPECT_EQ(back.vectors, batch.vectors);
    EXPECT_EQ(header.dim, 48u);
    EXPECT_EQ(header.model, "test-model");
    EXPECT_EQ(header.modality, stream::Modality::image);
    ASSERT_EQ(header.provenance.size(), 1u);
    EXPECT_EQ(header.provenance[0].args, "unit test");
}

TEST(Stream, HalfPrecisionStoresRoundedValues) {
    const auto batch = test::random_batch(50, 16, 2);
    const auto back = test::read_bytes(test::stream_bytes(batch, test::header_for(16, stream::ElementType::f16)));
    ASSERT_EQ(back.vectors.size(), batch.vectors.size());
    for (size_t i = 0; i < batch.vectors.size(); ++i) EXPECT_EQ(back.vectors[i], half_to_float(float_to_half(batch.vectors[i])));
}

TEST(Stream, EmptyStreamHasHeaderAndNoRecords) {
    stream::Header header;
    const auto back = test::read_bytes(test::stream_bytes(test::random_batch(0, 8, 0), test::header_for(8)), &header);
    EXPECT_EQ(back.size(), 0u);
    EXPECT_EQ(header.dim, 8u);
}

TEST(Stream, ConcatenatedStreamsReadAsOne) {
    const auto a = test::random_batch(30, 8, 3, "a");
    const auto b = test::random_batch(20, 8, 4, "b");
    const auto back = test::read_bytes(test::stream_bytes(a, test::header_for(8)) + test::stream_bytes(b, test::header_for(8, stream::ElementType::f16)));
    ASSERT_EQ(back.size(), 50u);
    EXPECT_EQ(back.ids[0], "a0");
    EXPECT_EQ(back.ids[30], "b0");
}

TEST(Stream, ConcatenationWithAnotherDimensionOrModelIsAMismatch) {
    const auto a = test::stream_bytes(test::random_batch(5, 8, 5), test::header_for(8));
    ErrorCode code{};
    EXPECT_THAT(read_error(a + test::stream_bytes(test::random_batch(5, 9, 6), test::header_for(9)), &code), HasSubstr("dimension 9 where 8"));
    EXPECT_EQ(code, ErrorCode::mismatch);
    auto other_model = test::header_for(8);
    other_model.model = "another";
    EXPECT_THAT(read_error(a + test::stream_bytes(test::random_batch(5, 8, 6), other_model)), HasSubstr("model another where test-model"));
    auto text = test::header_for(8);
    text.modality = stream::Modality::text;
    EXPECT_THAT(read_error(a + test::stream_bytes(test::random_batch(5, 8, 6), text)), HasSubstr("modality text where image"));
}

TEST(Stream, EveryTruncationIsAnErrorNotAShortRead) {
    const std::string bytes = test::stream_bytes(test::random_batch(40, 8, 7), test::header_for(8), 10);
    for (size_t cut = 1; cut < bytes.size(); ++cut) {
        ErrorCode code{};
        const std::string error = read_error(bytes.substr(0, cut), &code);
        ASSERT_FALSE(error.empty()) << "truncation at " << cut << " read silently";
        ASSERT_EQ(code, ErrorCode::format) << error;
        ASSERT_THAT(error, HasSubstr("mem: byte ")) << error;
    }
}

TEST(Stream, FlippedBytesAreCaughtByChecksumsOrStructure) {
    const std::string bytes = test::stream_bytes(test::random_batch(40, 8, 8), test::header_for(8), 10);
    for (size_t at = 0; at < bytes.size(); at += 7) {
        std::string bad = bytes;
        bad[at] = char(bad[at] ^ 0x20);
        ASSERT_FALSE(read_error(bad).empty()) << "flip at " << at << " went unnoticed";
    }
}

TEST(Stream, GarbageAndEmptyInputAreNamed) {
    EXPECT_THAT(read_error("hello world, not a stream"), HasSubstr("neither a dcar embedding stream nor a .npy file"));
    EXPECT_THAT(read_error(""), HasSubstr("empty input"));
    const std::string bytes = test::stream_bytes(test::random_batch(4, 8, 9), test::header_for(8));
    EXPECT_THAT(read_error(bytes + "trailing junk"), HasSubstr("not a valid zstd frame"));
}

// An error in a header names the offset of the frame that holds it (here the first, at byte 0), not of the
// frame after it.
TEST(Stream, HeaderErrorsNameTheHeadersFrame) {
    const std::string good = test::stream_bytes(test::random_batch(4, 8, 9), test::header_for(8));
    const size_t first = ZSTD_findFrameCompressedSize(good.data(), good.size());
    ASSERT_FALSE(ZSTD_isError(first));
    ASSERT_LT(first, good.size());
    std::string raw(1 << 16, '\0');
    const size_t got = ZSTD_decompress(raw.data(), raw.size(), good.data(), first);
    ASSERT_FALSE(ZSTD_isError(got));
    raw.resize(got);
    // magic, version, JSON length, JSON: make the dimension 8.5.
    const size_t at = sizeof stream::stream_magic + 8;
    uint32_t length = 0;
    std::memcpy(&length, raw.data() + sizeof stream::stream_magic + 4, 4);
    std::string json = raw.substr(at, length);
    const size_t dim = json.find("\"dim\":");
    ASSERT_NE(dim, std::string::npos) << json;
    json.insert(json.find_first_of(",}", dim), ".5");
    const uint32_t new_length = uint32_t(json.size());
    std::string header = raw.substr(0, sizeof stream::stream_magic + 4);
    header.append(reinterpret_cast<const char*>(&new_length), 4);
    header += json + raw.substr(at + length);
    std::string frame(ZSTD_compressBound(header.size()), '\0');
    ZSTD_CCtx* cctx = ZSTD_createCCtx();
    ZSTD_CCtx_setParameter(cctx, ZSTD_c_checksumFlag, 1);  // as the writer's frames
    frame.resize(ZSTD_compress2(cctx, frame.data(), frame.size(), header.data(), header.size()));
    ZSTD_freeCCtx(cctx);
    const std::string message = read_error(frame + good.substr(first));
    EXPECT_THAT(message, HasSubstr("byte 0: header: dimension 8.5 is not a whole number")) << message;
}

TEST(Stream, WriterRejectsIdsThatWouldBreakTextOutputs) {
    auto batch = test::random_batch(2, 4, 10);
    batch.ids[1] = "bad\tid";
    std::string bytes;
    auto writer = stream::open_writer(io::string_sink(bytes), test::header_for(4));
    EXPECT_THROW(writer->write(batch), Error);
}

TEST(Stream, ReadBatchHonoursTheLimitAndReadsEverything) {
    const auto batch = test::random_batch(1000, 4, 11);
    const std::string bytes = test::stream_bytes(batch, test::header_for(4), 333);
    auto reader = stream::open_embeddings(io::memory_source(bytes.data(), bytes.size()));
    stream::Batch part;
    size_t total = 0;
    while (reader->read_batch(part, 64)) {
        ASSERT_LE(part.size(), 64u);
        EXPECT_EQ(part.ids[0], batch.ids[total]);
        total += part.size();
    }
    EXPECT_EQ(total, 1000u);
}

TEST(Stream, MultiInputReaderChecksEachInput) {
    test::TempDir dir;
    const auto a = test::random_batch(10, 8, 12, "a");
    auto write = [](const std::string& path, const stream::Batch& b, const stream::Header& h) {
        auto w = stream::open_writer(io::open_sink(path), h);
        w->write(b);
        w->finish();
    };
    write(dir.file("a.dcs"), a, test::header_for(8));
    write(dir.file("b.dcs"), test::random_batch(5, 8, 13, "b"), test::header_for(8));
    write(dir.file("c.dcs"), test::random_batch(5, 6, 14, "c"), test::header_for(6));
    auto both = stream::open_embeddings(std::vector<std::string>{dir.file("a.dcs"), dir.file("b.dcs")});
    EXPECT_EQ(stream::read_all(*both).size(), 15u);
    try {
        // Every header is read when the inputs are opened, so the mismatch shows before any row is used.
        stream::open_embeddings(std::vector<std::string>{dir.file("a.dcs"), dir.file("c.dcs")});
        FAIL() << "mixing dimensions was accepted";
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), ErrorCode::mismatch);
        EXPECT_THAT(e.what(), HasSubstr("c.dcs: does not match"));
    }
}

TEST(Stream, FailedWriteLeavesNoFileBehind) {
    test::TempDir dir;
    const std::string path = dir.file("out.dcs");
    {
        auto w = stream::open_writer(io::open_sink(path), test::header_for(4));
        w->write(test::random_batch(3, 4, 15));
        // destroyed without finish(): as when an error unwinds the tool
    }
    EXPECT_NE(::access(path.c_str(), F_OK), 0);
    EXPECT_EQ(std::system(("test -z \"$(ls -A '" + dir.path() + "')\"").c_str()), 0) << "temporary left behind";
}

TEST(Stream, LaterPartsMustMatchWhatEarlierPartsTaughtTheReader) {
    // The first part has no model (as from .npy); the second names one; a third naming another is refused.
    auto unknown = test::header_for(4);
    unknown.model = "";
    auto x = test::header_for(4);
    x.model = "x";
    auto y = test::header_for(4);
    y.model = "y";
    const auto rows = test::random_batch(2, 4, 30);
    EXPECT_EQ(test::read_bytes(test::stream_bytes(rows, unknown) + test::stream_bytes(rows, x)).size(), 4u);
    EXPECT_THAT(read_error(test::stream_bytes(rows, unknown) + test::stream_bytes(rows, x) + test::stream_bytes(rows, y)),
                HasSubstr("model y where x"));
    test::TempDir dir;
    int n = 0;
    for (const auto& h : {unknown, x, y}) {
        auto w = stream::open_writer(io::open_sink(dir.file(std::to_string(n++) + ".dcs")), h);
        w->write(rows);
        w->finish();
    }
    EXPECT_THROW(stream::open_embeddings(std::vector<std::string>{dir.file("0.dcs"), dir.file("1.dcs"), dir.file("2.dcs")}), Error);
    auto combined = stream::open_embeddings(std::vector<std::string>{dir.file("0.dcs"), dir.file("1.dcs")});
    EXPECT_EQ(combined->header().model, "x");
}

TEST(StreamHeader, DimensionMustBeAWholeNumber) {
    const std::string good = R"({"dim": 16, "dtype": "f32", "modality": "image", "normalized": true, "model": "", "provenance": []})";
    EXPECT_EQ(stream::Header::from_json(good, "h").dim, 16u);
    for (const char* dim : {"16.5", "\"16\"", "-3", "0"}) {
        std::string text = good;
        text.replace(text.find("16"), 2, dim);
        try {
            stream::Header::from_json(text, "h");
            ADD_FAILURE() << "dim " << dim << " was accepted";
        } catch (const Error& e) {
            EXPECT_EQ(e.code(), ErrorCode::format) << dim;
            EXPECT_THAT(e.what(), HasSubstr("h: header")) << dim;
        }
    }
}
