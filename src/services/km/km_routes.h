// The KM's HTTPS routes (docs/openapi.json).
//
// CA-facing (KM-01): the caller is the CA node behind a verified TLS client certificate that the
// KM's security administrator registered (KmService::AuthenticateCa); nothing else reaches them.
//   POST /api/v1/km/ca/keys                       apply for a key pair (dual certificate)
//   POST /api/v1/km/ca/keys/{key_id}/bind         the encryption certificate issued for it
//   POST /api/v1/km/ca/certificates/{serial}/revoke
//   POST /api/v1/km/ca/certificates/{serial}/restore   subscriber recovery, new carrier
// Operator routes (security administrator, KM officers):
//   GET/POST /api/v1/km/cas, POST /api/v1/km/cas/{name}/suspend|resume, GET /api/v1/km/state,
//   GET /api/v1/km/keys/{key_id}, GET/POST /api/v1/km/recoveries,
//   GET /api/v1/km/recoveries/{id}, POST /api/v1/km/recoveries/{id}/approve,
//   GET /api/v1/km/recoveries/{id}/package (the released GM/T 0010 EnvelopedData, DER)
#pragma once

#include <nlohmann/json.hpp>

#include "net/router.h"
#include "services/core/operators.h"
#include "services/km/km_service.h"

namespace gmpki::km {

Status AddKmRoutes(net::Router& router, KmService& km, services::OperatorRegistry& operators);

// The JSON forms shared by the routes and the CA's remote gateway.
nlohmann::json DeliveryJson(const KeyDelivery& d);
nlohmann::json KeyJson(const KeyRecord& k);

}  // namespace gmpki::km
