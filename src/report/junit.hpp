// report.xml: the run as JUnit XML, for Jenkins and any CI that reads it. One testcase per
// check; expired expectations and run errors are testcases too, so the CI's verdict agrees with
// the exit code.
#pragma once

#include <filesystem>
#include <string>

#include "base/result.hpp"
#include "check/check_result.hpp"

namespace mbcc {

// "1_5_1.lenet.gluon-export": Jenkins splits a classname at its last dot into package and
// class, so dots inside each part become underscores and the package is producer.model, the
// class the save API.
std::string junit_classname(const CheckKey& key);
std::string junit_name(const CheckKey& key);  // "gluon-imports@1.9.1"

std::string junit_xml(const RunResult& result);
Status write_junit_xml(const std::filesystem::path& path, const RunResult& result);

}  // namespace mbcc
