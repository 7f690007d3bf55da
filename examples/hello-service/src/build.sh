#!/bin/sh
# The "build": writes the greeting with the commit it was built from.
echo "$GREETING (job $CI_JOB_NAME, pipeline $CI_PIPELINE_ID)"
