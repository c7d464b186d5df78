// Atomic result files: text and HDF5 fields (HDF5 C API; every return value is checked).
#include "phasespace/output.hpp"

#include <hdf5.h>
#include <unistd.h>

#include <array>
#include <filesystem>
#include <fstream>
#include <string>
#include <system_error>
#include <utility>

#include "phasespace/errors.hpp"

namespace phasespace {
namespace {

std::string temporary_path(const std::string& path) {
  return path + ".tmp-" + std::to_string(static_cast<long>(::getpid()));
}

// Moves the finished temporary file onto its final name (atomic within one file system).
void move_into_place(const std::string& temporary, const std::string& path) {
  std::error_code code;
  std::filesystem::rename(temporary, path, code);
  if (code) {
    std::filesystem::remove(temporary, code);
    throw Error("rename('" + temporary + "', '" + path + "') failed: " + code.message());
  }
}

// ---------------------------------------------------------------------------------------------
// HDF5 plumbing. HDF5's own automatic error printing is switched off while we work (and put
// back afterwards); instead the innermost message of its error stack goes into our exception.

class QuietHdf5Errors {
 public:
  QuietHdf5Errors() {
    H5Eget_auto2(H5E_DEFAULT, &function_, &data_);
    H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
  }
  ~QuietHdf5Errors() { H5Eset_auto2(H5E_DEFAULT, function_, data_); }
  QuietHdf5Errors(const QuietHdf5Errors&) = delete;
  QuietHdf5Errors& operator=(const QuietHdf5Errors&) = delete;

 private:
  H5E_auto2_t function_ = nullptr;
  void* data_ = nullptr;
};

herr_t keep_innermost_message(unsigned depth, const H5E_error2_t* entry, void* context) {
  if (depth == 0 && entry->desc != nullptr) *static_cast<std::string*>(context) = entry->desc;
  return 0;
}

[[noreturn]] void throw_hdf5_error(const std::string& call, const std::string& path) {
  std::string detail;
  H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, keep_innermost_message, &detail);
  H5Eclear2(H5E_DEFAULT);
  throw Error("HDF5 " + call + " failed for '" + path + "'" + (detail.empty() ? "" : ": " + detail));
}

hid_t checked_id(hid_t id, const std::string& call, const std::string& path) {
  if (id < 0) throw_hdf5_error(call, path);
  return id;
}

void checked_status(herr_t status, const std::string& call, const std::string& path) {
  if (status < 0) throw_hdf5_error(call, path);
}

// Owns one HDF5 identifier and closes it with the matching H5?close. Closing in a destructor
// cannot throw; the file itself is closed explicitly (and checked) before it is renamed.
class Handle {
 public:
  using Closer = herr_t (*)(hid_t);
  Handle(hid_t id, Closer closer) : id_(id), closer_(closer) {}
  ~Handle() {
    if (id_ >= 0) closer_(id_);
  }
  Handle(Handle&& other) noexcept : id_(std::exchange(other.id_, -1)), closer_(other.closer_) {}
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
  Handle& operator=(Handle&&) = delete;
  hid_t get() const { return id_; }
  void close(const std::string& call, const std::string& path) {
    const hid_t id = std::exchange(id_, -1);
    checked_status(closer_(id), call, path);
  }

 private:
  hid_t id_;
  Closer closer_;
};

// The compound {r, i} of two doubles that h5py reads as complex128; std::complex<double> is
// laid out as double[2] (real, imaginary), so memory and file share this layout.
Handle complex_type(hid_t member_type, const std::string& path) {
  Handle type(checked_id(H5Tcreate(H5T_COMPOUND, 2 * sizeof(double)), "H5Tcreate", path), H5Tclose);
  checked_status(H5Tinsert(type.get(), "r", 0, member_type), "H5Tinsert(r)", path);
  checked_status(H5Tinsert(type.get(), "i", sizeof(double), member_type), "H5Tinsert(i)", path);
  return type;
}

template <std::size_t rank>
void write_dataset(hid_t file, const char* name, const std::array<hsize_t, rank>& dims,
                   hid_t file_type, hid_t memory_type, const void* data, const std::string& path) {
  const std::string what = std::string("'") + name + "'";
  Handle space(checked_id(H5Screate_simple(static_cast<int>(rank), dims.data(), nullptr),
                          "H5Screate_simple(" + what + ")", path),
               H5Sclose);
  Handle dataset(checked_id(H5Dcreate2(file, name, file_type, space.get(), H5P_DEFAULT, H5P_DEFAULT,
                                       H5P_DEFAULT),
                            "H5Dcreate2(" + what + ")", path),
                 H5Dclose);
  hsize_t count = 1;
  for (const hsize_t dim : dims) count *= dim;
  // An empty dataset has nothing to write (and HDF5 rejects a null buffer).
  if (count > 0) {
    checked_status(H5Dwrite(dataset.get(), memory_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data),
                   "H5Dwrite(" + what + ")", path);
  }
  dataset.close("H5Dclose(" + what + ")", path);
}

void write_hbar_attribute(hid_t file, double hbar, const std::string& path) {
  Handle space(checked_id(H5Screate(H5S_SCALAR), "H5Screate(hbar)", path), H5Sclose);
  Handle attribute(checked_id(H5Acreate2(file, "hbar", H5T_IEEE_F64LE, space.get(), H5P_DEFAULT,
                                         H5P_DEFAULT),
                              "H5Acreate2(hbar)", path),
                   H5Aclose);
  checked_status(H5Awrite(attribute.get(), H5T_NATIVE_DOUBLE, &hbar), "H5Awrite(hbar)", path);
  attribute.close("H5Aclose(hbar)", path);
}

void require_record_shape(const FieldsRecord& record, const std::string& path) {
  const std::size_t cells = record.times.size() * record.x0.size() * record.p.size();
  const std::string field = "fields record for '" + path + "'";
  require(record.rho_quantum.size() == cells, field,
          "rho_quantum with " + std::to_string(record.rho_quantum.size()) + " values",
          "times·x0·p = " + std::to_string(cells) + " values");
  require(record.rho_classical.size() == cells, field,
          "rho_classical with " + std::to_string(record.rho_classical.size()) + " values",
          "times·x0·p = " + std::to_string(cells) + " values");
  const std::size_t samples = record.times.size() * record.x.size();
  require(record.psi.empty() || record.psi.size() == samples, field,
          "psi with " + std::to_string(record.psi.size()) + " values",
          "none (mixed state) or times·x = " + std::to_string(samples) + " values");
}

void write_fields_file(const std::string& file_path, const FieldsRecord& record) {
  Handle file(checked_id(H5Fcreate(file_path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT),
                         "H5Fcreate", file_path),
              H5Fclose);
  const hid_t doubles = H5T_IEEE_F64LE;
  const hid_t native = H5T_NATIVE_DOUBLE;
  const auto length = [](const auto& values) { return static_cast<hsize_t>(values.size()); };
  write_dataset<1>(file.get(), "x", {length(record.x)}, doubles, native, record.x.data(), file_path);
  write_dataset<1>(file.get(), "x0", {length(record.x0)}, doubles, native, record.x0.data(),
                   file_path);
  write_dataset<1>(file.get(), "p", {length(record.p)}, doubles, native, record.p.data(), file_path);
  write_dataset<1>(file.get(), "times", {length(record.times)}, doubles, native,
                   record.times.data(), file_path);
  const std::array<hsize_t, 3> cube{length(record.times), length(record.x0), length(record.p)};
  write_dataset<3>(file.get(), "rho_quantum", cube, doubles, native, record.rho_quantum.data(),
                   file_path);
  write_dataset<3>(file.get(), "rho_classical", cube, doubles, native, record.rho_classical.data(),
                   file_path);
  if (!record.psi.empty()) {
    Handle file_type = complex_type(H5T_IEEE_F64LE, file_path);
    Handle memory_type = complex_type(H5T_NATIVE_DOUBLE, file_path);
    write_dataset<2>(file.get(), "psi", {length(record.times), length(record.x)}, file_type.get(),
                     memory_type.get(), record.psi.data(), file_path);
  }
  write_hbar_attribute(file.get(), record.hbar, file_path);
  file.close("H5Fclose", file_path);
}

// ---------------------------------------------------------------------------------------------
// Reading back.

std::vector<hsize_t> dataset_dims(hid_t dataset, const std::string& what, const std::string& path) {
  Handle space(checked_id(H5Dget_space(dataset), "H5Dget_space(" + what + ")", path),
               H5Sclose);
  const int rank = H5Sget_simple_extent_ndims(space.get());
  if (rank < 0) throw_hdf5_error("H5Sget_simple_extent_ndims(" + what + ")", path);
  std::vector<hsize_t> dims(static_cast<std::size_t>(rank));
  if (rank > 0 &&
      H5Sget_simple_extent_dims(space.get(), dims.data(), nullptr) < 0) {
    throw_hdf5_error("H5Sget_simple_extent_dims(" + what + ")", path);
  }
  return dims;
}

template <class T>
std::vector<T> read_dataset(hid_t file, const char* name, hid_t memory_type,
                            const std::vector<std::size_t>& expected_dims, const std::string& path) {
  const std::string what = std::string("'") + name + "'";
  Handle dataset(checked_id(H5Dopen2(file, name, H5P_DEFAULT), "H5Dopen2(" + what + ")",
                            path),
                 H5Dclose);
  const std::vector<hsize_t> dims = dataset_dims(dataset.get(), what, path);
  bool matches = dims.size() == expected_dims.size();
  std::size_t count = 1;
  for (std::size_t axis = 0; matches && axis < dims.size(); ++axis) {
    matches = dims[axis] == expected_dims[axis];
    count *= expected_dims[axis];
  }
  if (!matches) throw Error("HDF5 dataset " + what + " in '" + path + "' has an unexpected shape");
  std::vector<T> values(count);
  if (count > 0) {
    checked_status(H5Dread(dataset.get(), memory_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, values.data()),
                   "H5Dread(" + what + ")", path);
  }
  return values;
}

std::size_t axis_length(hid_t file, const char* name, const std::string& path) {
  const std::string what = std::string("'") + name + "'";
  Handle dataset(checked_id(H5Dopen2(file, name, H5P_DEFAULT), "H5Dopen2(" + what + ")",
                            path),
                 H5Dclose);
  const std::vector<hsize_t> dims = dataset_dims(dataset.get(), what, path);
  if (dims.size() != 1) throw Error("HDF5 dataset " + what + " in '" + path + "' is not 1D");
  return static_cast<std::size_t>(dims[0]);
}

std::vector<double> read_axis(hid_t file, const char* name, const std::string& path) {
  return read_dataset<double>(file, name, H5T_NATIVE_DOUBLE, {axis_length(file, name, path)}, path);
}

double read_hbar_attribute(hid_t file, const std::string& path) {
  Handle attribute(checked_id(H5Aopen(file, "hbar", H5P_DEFAULT), "H5Aopen(hbar)", path), H5Aclose);
  double hbar = 0.0;
  checked_status(H5Aread(attribute.get(), H5T_NATIVE_DOUBLE, &hbar), "H5Aread(hbar)", path);
  return hbar;
}

}  // namespace

void write_text_atomically(const std::string& path, const std::string& text) {
  const std::string temporary = temporary_path(path);
  {
    std::ofstream stream(temporary, std::ios::binary | std::ios::trunc);
    if (!stream) throw Error("cannot open '" + temporary + "' to write '" + path + "'");
    stream << text;
    stream.close();
    if (!stream) {
      std::error_code ignored;
      std::filesystem::remove(temporary, ignored);
      throw Error("writing '" + temporary + "' (for '" + path + "') failed");
    }
  }
  move_into_place(temporary, path);
}

void write_fields_hdf5(const std::string& path, const FieldsRecord& record) {
  require_record_shape(record, path);
  const std::string temporary = temporary_path(path);
  {
    QuietHdf5Errors quiet;
    try {
      write_fields_file(temporary, record);
    } catch (const Error& error) {
      std::error_code ignored;
      std::filesystem::remove(temporary, ignored);
      throw Error("writing fields to '" + path + "': " + error.what());
    } catch (...) {
      std::error_code ignored;
      std::filesystem::remove(temporary, ignored);
      throw;
    }
  }
  move_into_place(temporary, path);
}

FieldsRecord read_fields_hdf5(const std::string& path) {
  QuietHdf5Errors quiet;
  Handle file(checked_id(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), "H5Fopen", path),
              H5Fclose);
  FieldsRecord record;
  record.hbar = read_hbar_attribute(file.get(), path);
  record.x = read_axis(file.get(), "x", path);
  record.x0 = read_axis(file.get(), "x0", path);
  record.p = read_axis(file.get(), "p", path);
  record.times = read_axis(file.get(), "times", path);
  const std::vector<std::size_t> cube{record.times.size(), record.x0.size(), record.p.size()};
  record.rho_quantum = read_dataset<double>(file.get(), "rho_quantum", H5T_NATIVE_DOUBLE, cube, path);
  record.rho_classical =
      read_dataset<double>(file.get(), "rho_classical", H5T_NATIVE_DOUBLE, cube, path);
  const htri_t has_psi = H5Lexists(file.get(), "psi", H5P_DEFAULT);
  if (has_psi < 0) throw_hdf5_error("H5Lexists(psi)", path);
  if (has_psi > 0) {
    Handle memory_type = complex_type(H5T_NATIVE_DOUBLE, path);
    record.psi = read_dataset<std::complex<double>>(file.get(), "psi", memory_type.get(),
                                                    {record.times.size(), record.x.size()}, path);
  }
  file.close("H5Fclose", path);
  return record;
}

}  // namespace phasespace
