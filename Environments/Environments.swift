// Environments: gridworld, highway, robot arm and cart-pole, each implementing the Sim contract.
// Imports only Sim. The environments arrive with the simulator and environment issues.
import Sim
