# CPACK_PROJECT_CONFIG_FILE: read by cpack before it makes the packages.
# Each Debian package's summary is the first line of its component's description: without this,
# CPackDeb puts the project's summary in front of both descriptions.
unset(CPACK_PACKAGE_DESCRIPTION_SUMMARY)
