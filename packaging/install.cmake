# What `cmake --install` puts under the prefix, the man page, and the Debian package that
# `cpack -G DEB` makes of the same layout under /usr. The installed mbcc finds each part relative
# to PREFIX/bin (src/base/install_dirs.hpp), so these destinations and that lookup go together.
install(TARGETS mbcc RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(TARGETS mbcc-capi-worker RUNTIME DESTINATION ${CMAKE_INSTALL_LIBEXECDIR}/mbcc)
install(DIRECTORY python/mbcc_probe DESTINATION ${CMAKE_INSTALL_DATADIR}/mbcc/python
  PATTERN __pycache__ EXCLUDE)
install(DIRECTORY corpus/ DESTINATION ${CMAKE_INSTALL_DATADIR}/mbcc/corpus)
install(DIRECTORY registry/ DESTINATION ${CMAKE_INSTALL_DATADIR}/mbcc/registry)
install(FILES README.md LICENSE docs/releases.md docs/format-notes.md
  DESTINATION ${CMAKE_INSTALL_DOCDIR})

# mbcc(1), made from the command's own --help and --version plus packaging/mbcc.h2m (not in the
# sanitizer builds, which are never installed).
find_program(HELP2MAN help2man)
if(HELP2MAN AND NOT MBCC_SANITIZE)
  add_custom_command(OUTPUT mbcc.1.gz
    COMMAND ${HELP2MAN} --no-info --name "model backward-compatibility checker for Apache MXNet"
      --include ${CMAKE_CURRENT_SOURCE_DIR}/packaging/mbcc.h2m --output mbcc.1 $<TARGET_FILE:mbcc>
    COMMAND gzip -9nf mbcc.1
    DEPENDS mbcc ${CMAKE_CURRENT_SOURCE_DIR}/packaging/mbcc.h2m
    COMMENT "Making the man page mbcc(1)")
  add_custom_target(man ALL DEPENDS mbcc.1.gz)
  install(FILES ${CMAKE_CURRENT_BINARY_DIR}/mbcc.1.gz DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)
elseif(NOT HELP2MAN)
  message(STATUS "help2man not found (Debian package help2man): no man page")
endif()

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_CONTACT "mbcc developers")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "model backward-compatibility checker for Apache MXNet")
set(CPACK_PACKAGE_DESCRIPTION
  "mbcc checks that models saved by one MXNet release still load and compute the same outputs on "
  "another, for every save and load API, with a corpus of models written by 20 releases.")
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION utils)
set(CPACK_STRIP_FILES ON)
# Depends: the shared libraries mbcc links (found by dpkg-shlibdeps), and python3-venv, with which
# `mbcc env` makes one venv per MXNet release. The HTML report is a static page: no browser.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "python3-venv")
include(CPack)
