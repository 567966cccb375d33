// SPDX-License-Identifier: GPL-2.0
// Everything of the mmapdemo library.
#pragma once

#include <mmapdemo/device.hpp>
#include <mmapdemo/mapping.hpp>
#include <mmapdemo/types.hpp>
