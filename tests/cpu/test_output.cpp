// Result files: atomic text and HDF5 fields, read back by us and by h5py.
#include <gtest/gtest.h>
#include <hdf5.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <sys/wait.h>

#include "phasespace/errors.hpp"
#include "phasespace/output.hpp"

namespace phasespace {
namespace {

namespace fs = std::filesystem;

// A fresh folder per test, removed afterwards.
class OutputFiles : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    folder_ = fs::temp_directory_path() /
              ("phasespace-output-" + std::string(info->name()) + "-" + std::to_string(::getpid()));
    fs::remove_all(folder_);
    fs::create_directories(folder_);
  }
  void TearDown() override { fs::remove_all(folder_); }

  // Names in the folder that are not `expected` (left-over temporaries, for instance).
  std::vector<std::string> other_files(const std::vector<std::string>& expected) const {
    std::vector<std::string> others;
    for (const auto& entry : fs::directory_iterator(folder_)) {
      const std::string name = entry.path().filename().string();
      if (std::find(expected.begin(), expected.end(), name) == expected.end()) others.push_back(name);
    }
    return others;
  }

  fs::path folder_;
};

// times = 2, x = 5, x0 = 3, p = 4, with values that are not round in binary.
FieldsRecord sample_record(bool pure) {
  FieldsRecord record;
  record.hbar = 0.0123;
  for (int n = 0; n < 5; ++n) record.x.push_back(-1.0 + 0.4 * n);
  record.x0 = {-0.9, 0.1, 1.1};
  record.p = {-0.3, -0.1, 0.1, 0.3};
  record.times = {0.0, 0.7};
  for (int n = 0; n < 2 * 3 * 4; ++n) {
    record.rho_quantum.push_back(std::sin(0.37 * n) / 3.0);
    record.rho_classical.push_back(std::exp(-0.11 * n) * 1e-7);
  }
  if (pure) {
    for (int n = 0; n < 2 * 5; ++n) record.psi.emplace_back(std::cos(0.21 * n) / 7.0, -std::sin(1.3 * n));
    record.psi[1 * 5 + 2] = {0.25, -1.5};  // checked from Python
  }
  return record;
}

void expect_same(const FieldsRecord& written, const FieldsRecord& read) {
  EXPECT_EQ(read.hbar, written.hbar);
  EXPECT_EQ(read.x, written.x);
  EXPECT_EQ(read.x0, written.x0);
  EXPECT_EQ(read.p, written.p);
  EXPECT_EQ(read.times, written.times);
  EXPECT_EQ(read.rho_quantum, written.rho_quantum);
  EXPECT_EQ(read.rho_classical, written.rho_classical);
  EXPECT_EQ(read.psi, written.psi);
}

bool file_has_dataset(const std::string& path, const char* name) {
  const hid_t file = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  EXPECT_GE(file, 0) << path;
  const htri_t exists = H5Lexists(file, name, H5P_DEFAULT);
  H5Fclose(file);
  return exists > 0;
}

TEST_F(OutputFiles, PureStateRoundTrip) {
  const std::string path = (folder_ / "hbar_0.h5").string();
  const FieldsRecord record = sample_record(true);
  write_fields_hdf5(path, record);
  expect_same(record, read_fields_hdf5(path));
  EXPECT_TRUE(file_has_dataset(path, "psi"));
  EXPECT_TRUE(other_files({"hbar_0.h5"}).empty());
}

TEST_F(OutputFiles, MixedStateHasNoPsi) {
  const std::string path = (folder_ / "hbar_1.h5").string();
  const FieldsRecord record = sample_record(false);
  write_fields_hdf5(path, record);
  const FieldsRecord read = read_fields_hdf5(path);
  expect_same(record, read);
  EXPECT_TRUE(read.psi.empty());
  EXPECT_FALSE(file_has_dataset(path, "psi"));
  EXPECT_TRUE(file_has_dataset(path, "rho_classical"));
  EXPECT_TRUE(other_files({"hbar_1.h5"}).empty());
}

TEST_F(OutputFiles, RewritingReplacesTheFile) {
  const std::string path = (folder_ / "hbar_0.h5").string();
  write_fields_hdf5(path, sample_record(true));
  FieldsRecord second = sample_record(false);
  second.hbar = 0.5;
  write_fields_hdf5(path, second);
  expect_same(second, read_fields_hdf5(path));
  EXPECT_TRUE(other_files({"hbar_0.h5"}).empty());
}

TEST_F(OutputFiles, MissingFolderThrowsNamingThePath) {
  const std::string path = (folder_ / "no_such_folder" / "hbar_0.h5").string();
  try {
    write_fields_hdf5(path, sample_record(true));
    FAIL() << "no exception for " << path;
  } catch (const Error& error) {
    EXPECT_NE(std::string(error.what()).find(path), std::string::npos) << error.what();
    EXPECT_NE(std::string(error.what()).find("H5Fcreate"), std::string::npos) << error.what();
  }
  EXPECT_FALSE(fs::exists(path));
  EXPECT_TRUE(other_files({}).empty());
  try {
    write_text_atomically(path, "text");
    FAIL() << "no exception for " << path;
  } catch (const Error& error) {
    EXPECT_NE(std::string(error.what()).find(path), std::string::npos) << error.what();
  }
  EXPECT_THROW(read_fields_hdf5(path), Error);
}

TEST_F(OutputFiles, InconsistentRecordIsRejectedBeforeWriting) {
  const std::string path = (folder_ / "hbar_0.h5").string();
  FieldsRecord record = sample_record(true);
  record.rho_classical.pop_back();
  EXPECT_THROW(write_fields_hdf5(path, record), InputError);
  record = sample_record(true);
  record.psi.pop_back();
  EXPECT_THROW(write_fields_hdf5(path, record), InputError);
  EXPECT_TRUE(other_files({}).empty());
}

TEST_F(OutputFiles, TextIsWrittenAtomically) {
  const std::string path = (folder_ / "summary.json").string();
  write_text_atomically(path, "{\"a\": 1}\n");
  write_text_atomically(path, "{\"b\": 2}\n");
  std::ifstream stream(path);
  std::stringstream content;
  content << stream.rdbuf();
  EXPECT_EQ(content.str(), "{\"b\": 2}\n");
  EXPECT_TRUE(other_files({"summary.json"}).empty());
}

// The file as a Python user sees it: psi is complex128, shapes are [time, ...], hbar an attribute.
TEST_F(OutputFiles, H5pyReadsPsiAsComplex128) {
  const char* python = "/usr/bin/python3";
  if (!fs::exists(python)) GTEST_SKIP() << python << " not present";
  if (std::system("/usr/bin/python3 -c 'import h5py' >/dev/null 2>&1") != 0) {
    GTEST_SKIP() << "h5py is not importable by /usr/bin/python3";
  }
  const std::string path = (folder_ / "hbar_0.h5").string();
  write_fields_hdf5(path, sample_record(true));
  const std::string script =
      "import sys, h5py\n"
      "f = h5py.File(sys.argv[1], 'r')\n"
      "psi = f['psi']\n"
      "assert psi.dtype == 'complex128', psi.dtype\n"
      "assert psi.shape == (2, 5), psi.shape\n"
      "assert psi[1, 2] == complex(0.25, -1.5), psi[1, 2]\n"
      "assert f['rho_quantum'].shape == (2, 3, 4), f['rho_quantum'].shape\n"
      "assert f['rho_classical'].dtype == 'float64'\n"
      "assert f['x'].shape == (5,) and f['times'].shape == (2,)\n"
      "assert f.attrs['hbar'] == 0.0123, f.attrs['hbar']\n";
  const std::string script_path = (folder_ / "check.py").string();
  std::ofstream(script_path) << script;
  const std::string command = std::string(python) + " " + script_path + " " + path;
  const int status = std::system(command.c_str());
  ASSERT_TRUE(WIFEXITED(status)) << command;
  EXPECT_EQ(WEXITSTATUS(status), 0) << command;
}

}  // namespace
}  // namespace phasespace
