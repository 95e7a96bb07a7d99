// Package ramapi serves RAM's OpenAPI actions (version 2015-05-01, and
// CreateServiceLinkedRole of ResourceManager 2020-03-31) over package
// openapi: it decodes parameters, authorizes the caller for each action on
// the RAM resource it touches (ram:CreateRole on acs:ram::UID:role/NAME, which a * region matches too),
// calls package ram, and shapes the responses exactly as the official SDKs
// decode them.
package ramapi
