// .npy interoperability: our writer's files read back; files written by numpy itself (Debian python3-numpy,
// skipped when absent) read with the right values; malformed arrays fail with a named error.
#include <fstream>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "core/error.hpp"
#include "core/half.hpp"
#include "test_util.hpp"

using namespace dcar;
using ::testing::HasSubstr;

namespace {

bool have_numpy() { return std::system("/usr/bin/python3 -c 'import numpy' >/dev/null 2>&1") == 0; }

void write_file(const std::string& path, const std::string& bytes) { std::ofstream(path, std::ios::binary) << bytes; }

std::string slurp(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
}

std::string read_error(const std::string& bytes) {
    try {
        auto r = stream::open_embeddings(io::memory_source(bytes.data(), bytes.size(), "a.npy"));
        stream::read_all(*r);
    } catch (const Error& e) {
        return e.what();
    }
    return "";
}

}  // namespace

TEST(Npy, WriterAndReaderRoundTripWithSidecar) {
    test::TempDir dir;
    const auto batch = test::random_batch(100, 12, 20);
    for (auto dtype : {stream::ElementType::f32, stream::ElementType::f16}) {
        const std::string path = dir.file(dtype == stream::ElementType::f32 ? "x32.npy" : "x16.npy");
        stream::WriteOptions options;
        options.format = stream::Format::npy;
        auto w = stream::open_writer(io::open_sink(path), test::header_for(12, dtype), options);
        w->write(batch);
        w->finish();
        auto r = stream::open_embeddings(path);  // finds the .ids sidecar beside it
        const auto back = stream::read_all(*r);
        EXPECT_EQ(back.ids, batch.ids);
        EXPECT_EQ(back.labels, batch.labels);
        for (size_t i = 0; i < batch.vectors.size(); ++i)
            ASSERT_EQ(back.vectors[i], dtype == stream::ElementType::f32 ? batch.vectors[i] : half_to_float(float_to_half(batch.vectors[i])));
    }
}

TEST(Npy, ToStdoutHoldsRowsAndWritesTheShapeFirst) {
    std::string bytes;
    stream::WriteOptions options;
    options.format = stream::Format::npy;
    const auto batch = test::random_batch(7, 3, 21);
    auto w = stream::open_writer(io::string_sink(bytes), test::header_for(3), options);
    w->write(batch);
    w->finish();
    auto r = stream::open_embeddings(io::memory_source(bytes.data(), bytes.size()));
    const auto back = stream::read_all(*r);
    EXPECT_EQ(back.vectors, batch.vectors);
    EXPECT_EQ(back.ids[6], "6");  // no sidecar: row numbers
}

TEST(Npy, ReadsWhatNumpyWrites) {
    if (!have_numpy()) GTEST_SKIP() << "/usr/bin/python3 with numpy not available";
    test::TempDir dir;
    const std::string script =
        "import numpy as np\n"
        "a = (np.arange(15, dtype=np.float64).reshape(5, 3) / 7).astype(np.float32)\n"
        "np.save('" + dir.file("f32.npy") + "', a)\n"
        "np.save('" + dir.file("f16.npy") + "', a.astype(np.float16))\n"
        "np.save('" + dir.file("fortran.npy") + "', np.asfortranarray(np.ones((3, 2), np.float32)))\n"
        "np.save('" + dir.file("f64.npy") + "', a.astype(np.float64))\n"
        "np.save('" + dir.file("rank1.npy") + "', np.ones(4, np.float32))\n";
    write_file(dir.file("make.py"), script);
    ASSERT_EQ(std::system(("/usr/bin/python3 " + dir.file("make.py")).c_str()), 0);
    auto r32 = stream::open_embeddings(dir.file("f32.npy"));
    const auto b32 = stream::read_all(*r32);
    ASSERT_EQ(b32.size(), 5u);
    EXPECT_EQ(b32.dim, 3u);
    EXPECT_EQ(b32.vectors[7], float(7.0 / 7));
    EXPECT_EQ(b32.vectors[4], float(4.0 / 7));
    auto r16 = stream::open_embeddings(dir.file("f16.npy"));
    const auto b16 = stream::read_all(*r16);
    EXPECT_EQ(b16.vectors[4], half_to_float(float_to_half(float(4.0 / 7))));
    EXPECT_THAT(read_error(slurp(dir.file("fortran.npy"))), HasSubstr("Fortran"));
    EXPECT_THAT(read_error(slurp(dir.file("f64.npy"))), HasSubstr("'<f8' is not supported"));
    EXPECT_THAT(read_error(slurp(dir.file("rank1.npy"))), HasSubstr("shape (n, d)"));
}

TEST(Npy, NumpyReadsWhatWeWrite) {
    if (!have_numpy()) GTEST_SKIP() << "/usr/bin/python3 with numpy not available";
    test::TempDir dir;
    const auto batch = test::random_batch(9, 5, 22);
    stream::WriteOptions options;
    options.format = stream::Format::npy;
    auto w = stream::open_writer(io::open_sink(dir.file("ours.npy")), test::header_for(5, stream::ElementType::f16), options);
    w->write(batch);
    w->finish();
    const std::string check = "import numpy as np\n"
                              "a = np.load('" + dir.file("ours.npy") + "')\n"
                              "assert a.shape == (9, 5) and a.dtype == np.float16, (a.shape, a.dtype)\n"
                              "print(repr(float(a[8, 4])))\n";
    write_file(dir.file("check.py"), check);
    FILE* p = ::popen(("/usr/bin/python3 " + dir.file("check.py")).c_str(), "r");
    char buf[64] = {0};
    ASSERT_NE(std::fgets(buf, sizeof buf, p), nullptr);
    EXPECT_EQ(::pclose(p), 0);
    EXPECT_EQ(std::stof(buf), half_to_float(float_to_half(batch.row(8)[4])));
}

TEST(Npy, TruncatedArrayAndIdCountMismatchAreErrors) {
    test::TempDir dir;
    stream::WriteOptions options;
    options.format = stream::Format::npy;
    std::string bytes;
    auto w = stream::open_writer(io::string_sink(bytes), test::header_for(4), options);
    w->write(test::random_batch(6, 4, 23));
    w->finish();
    EXPECT_THAT(read_error(bytes.substr(0, bytes.size() - 3)), HasSubstr("truncated"));
    EXPECT_THAT(read_error(bytes + "x"), HasSubstr("trailing bytes"));
    EXPECT_THAT(read_error(bytes.substr(0, 40)), HasSubstr("truncated"));
    write_file(dir.file("a.npy"), bytes);
    write_file(dir.file("a.ids"), "one\ntwo\n");
    try {
        auto r = stream::open_embeddings(dir.file("a.npy"));
        stream::read_all(*r);
        FAIL() << "short sidecar accepted";
    } catch (const Error& e) {
        EXPECT_THAT(e.what(), HasSubstr("a.ids: fewer ids than the array's 6 rows"));
    }
}
