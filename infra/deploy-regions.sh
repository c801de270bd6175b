#!/usr/bin/env bash
# Deploys PrimeScaler to several regions as one cluster, or removes it.
#   REGIONS=us-east-1,eu-west-1,ap-southeast-2 infra/deploy-regions.sh deploy
#   REGIONS=us-east-1,eu-west-1,ap-southeast-2 infra/deploy-regions.sh remove
# Every stack gets the same NodeRegions list, so each function reaches every node's
# table. Needs AWS credentials, the SAM CLI and cargo-lambda (make tools).
# Settings: STACK_NAME (primescaler), STRATEGY (consistent_hash), RESET_TOKEN (one token
# for every region; default: generated once here and printed).
set -euo pipefail
cd "$(dirname "$0")/.."

action="${1:-}"
REGIONS="${REGIONS:?set REGIONS, e.g. us-east-1,eu-west-1,ap-southeast-2}"
STACK_NAME="${STACK_NAME:-primescaler}"
STRATEGY="${STRATEGY:-consistent_hash}"
IFS=',' read -r -a regions <<<"$REGIONS"

case "$action" in
  deploy)
    RESET_TOKEN="${RESET_TOKEN:-$(od -An -N20 -tx1 /dev/urandom | tr -d ' \n')}"
    AWS_LC_SYS_NO_JITTER_ENTROPY=1 sam build --template template.yaml
    for region in "${regions[@]}"; do
      echo "== deploying $STACK_NAME to $region"
      sam deploy --stack-name "$STACK_NAME" --region "$region" --resolve-s3 \
        --capabilities CAPABILITY_IAM --no-confirm-changeset --no-fail-on-empty-changeset \
        --parameter-overrides "NodeRegions=$REGIONS" "Strategy=$STRATEGY" "ResetToken=$RESET_TOKEN"
      sam list stack-outputs --stack-name "$STACK_NAME" --region "$region" --output table
    done
    echo "reset token (every region): $RESET_TOKEN"
    ;;
  remove)
    for region in "${regions[@]}"; do
      echo "== removing $STACK_NAME from $region"
      sam delete --stack-name "$STACK_NAME" --region "$region" --no-prompts
    done
    ;;
  *)
    echo "usage: REGIONS=r1,r2,… $0 deploy|remove" >&2
    exit 2
    ;;
esac
